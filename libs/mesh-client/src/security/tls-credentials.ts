import { X509Certificate, createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { PeerCertificate } from 'node:tls';
import type { MeshTlsOptions } from '../config/mesh-client-options.interface.js';
import type { TlsMaterial } from '../config/policies.js';

/** The material is unusable; the message names the field and never holds key material. */
export class TlsMaterialError extends Error {
  override readonly name = 'TlsMaterialError';
}

/** True for PEM given inline (as opposed to a file path). */
export const isInlinePem = (value: string): boolean => value.includes('-----BEGIN');

/** The files among a client's TLS options (values given as paths, not inline PEM or Buffers). */
export function tlsFiles(tls: Pick<MeshTlsOptions, 'ca' | 'cert' | 'key'>): string[] {
  return [tls.ca, tls.cert, tls.key].filter((v): v is string => typeof v === 'string' && !isInlinePem(v));
}

/**
 * A value that can only be a path: key material in any text form (PEM body, base64, base64url,
 * hex) never holds a '.', paths nearly always do. Anything else is never quoted back.
 */
const PATH_LIKE = /^[\w./\\~:-]{1,255}$/;
const quotable = (value: string): boolean => PATH_LIKE.test(value) && value.includes('.');

function read(field: string, value: string | Buffer): Buffer {
  if (Buffer.isBuffer(value)) return value;
  if (isInlinePem(value)) return Buffer.from(value);
  try {
    return readFileSync(value);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    const what = quotable(value) ? `'${value}' (${code})` : `(${String(value.length)} characters, ${code})`;
    throw new TlsMaterialError(`tls.${field} is neither PEM nor a readable file ${what}`);
  }
}

/**
 * Reads `tls.ca`, `tls.cert` and `tls.key` (file paths or PEM) and checks them: every PEM parses
 * and the key belongs to the certificate; for a `reload`, the client certificate has not expired.
 * Throws TlsMaterialError naming what is wrong.
 */
export function loadTlsMaterial(tls: MeshTlsOptions, reload = false): TlsMaterial {
  const ca = read('ca', tls.ca);
  const cert = tls.cert === undefined ? null : read('cert', tls.cert);
  const key = tls.key === undefined ? null : read('key', tls.key);
  try {
    new X509Certificate(ca);
  } catch {
    throw new TlsMaterialError('tls.ca is not a PEM certificate');
  }
  if (cert && key) {
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
    } catch {
      throw new TlsMaterialError('tls.cert is not a PEM certificate');
    }
    let privateKey;
    try {
      privateKey = createPrivateKey(key);
    } catch {
      throw new TlsMaterialError('tls.key is not a PEM private key');
    }
    if (!x509.checkPrivateKey(privateKey)) throw new TlsMaterialError('tls.key does not belong to tls.cert');
    // a rotation to a certificate every server would refuse: the credentials in use stay (at start
    // the client starts, and its calls fail 'tls' naming the refusal)
    const expires = new Date(x509.validTo);
    if (reload && expires.getTime() <= Date.now()) throw new TlsMaterialError(`tls.cert expired on ${expires.toISOString()}`);
  }
  return { ca, cert, key };
}

/** Names a peer certificate presents: SAN URIs and DNS names, as 'URI:…' / 'DNS:…'. */
function presentedIds(cert: PeerCertificate): string[] {
  return (cert.subjectaltname ?? '').split(/,\s*/).filter((n) => n.startsWith('URI:') || n.startsWith('DNS:'));
}

/**
 * A grpc-js `checkServerIdentity` that requires the server certificate to present one of
 * `expected` (SAN URI such as a SPIFFE id, or DNS name). It replaces the host name check: a mesh
 * identity names a workload, not an address.
 */
export function expectServerIdentity(expected: readonly string[]): (host: string, cert: PeerCertificate) => Error | undefined {
  return (_host, cert) => {
    const presented = presentedIds(cert);
    const ok = presented.some((id) => expected.includes(id.slice(4)));
    return ok
      ? undefined
      : new Error(
          `server identity mismatch: expected one of [${expected.join(', ')}], the server presented [${presented.join(', ') || 'no SAN URI or DNS name'}]`,
        );
  };
}

/** Channel credentials for TLS, mutual when the material has a certificate and key. */
export function createTlsCredentials(tls: MeshTlsOptions, material: TlsMaterial): ChannelCredentials {
  const verify = tls.expectedServerIds ? { checkServerIdentity: expectServerIdentity(tls.expectedServerIds) } : undefined;
  return credentials.createSsl(material.ca, material.key, material.cert, verify);
}
