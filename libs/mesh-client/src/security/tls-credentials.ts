import { X509Certificate, createPrivateKey, type KeyObject } from 'node:crypto';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import { createSecureContext } from 'node:tls';
import { fileProblemOf } from '../config/configured-file.js';
import type { MeshTlsOptions } from '../config/mesh-client-options.interface.js';
import type { TlsMaterial } from '../config/policies.js';
import { describeThrown } from '../errors/describe-thrown.js';
import { expectServerIdentity } from './server-ids.js';
import { readTlsFileSync } from './tls-files.js';

/** The material is unusable; the message names the field and never holds key material. */
export class TlsMaterialError extends Error {
  override readonly name = 'TlsMaterialError';
  /** The client certificate is not valid yet: the same files may do in a moment. */
  notYet = false;
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
    return readTlsFileSync(value);
  } catch (error) {
    const code = fileProblemOf(error);
    const what = quotable(value) ? `'${value}' (${code})` : `(${String(value.length)} characters, ${code})`;
    throw new TlsMaterialError(`tls.${field} is neither PEM nor a readable file ${what}`);
  }
}

/**
 * Reads `tls.ca`, `tls.cert` and `tls.key` (file paths or PEM) and checks them: every PEM parses
 * and the key belongs to the certificate, and OpenSSL takes them; for a `reload`, the client
 * certificate is valid now (not expired, not valid only later).
 * Throws TlsMaterialError naming what is wrong.
 */
export function loadTlsMaterial(tls: MeshTlsOptions, reload = false): TlsMaterial {
  const ca = read('ca', tls.ca);
  const cert = tls.cert === undefined ? null : read('cert', tls.cert);
  const key = tls.key === undefined ? null : read('key', tls.key);
  checkBundle(ca);
  if (cert && key) {
    let x509: X509Certificate;
    try {
      x509 = new X509Certificate(cert);
    } catch {
      throw new TlsMaterialError('tls.cert is not a PEM certificate');
    }
    const privateKey = readPrivateKey(key);
    if (!x509.checkPrivateKey(privateKey)) throw new TlsMaterialError('tls.key does not belong to tls.cert');
    // a rotation to a certificate every server would refuse: the credentials in use stay (at start
    // the client starts, and its calls fail 'tls' naming the refusal)
    if (reload) refuseOutOfDate(x509);
  }
  if (cert && key) usableByTls(cert, key);
  return { ca, cert, key };
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/**
 * Every certificate of the CA bundle parses: OpenSSL reads a bundle up to its first bad block and
 * drops the rest without a word, so a CA after it would be missing only when its server is called.
 */
function checkBundle(ca: Buffer): void {
  const blocks = ca.toString('latin1').match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) throw new TlsMaterialError('tls.ca is not a PEM certificate');
  blocks.forEach((block, i) => {
    try {
      new X509Certificate(block);
    } catch {
      throw new TlsMaterialError(
        blocks.length === 1
          ? 'tls.ca is not a PEM certificate'
          : `tls.ca: certificate ${String(i + 1)} of ${String(blocks.length)} is not a PEM certificate`,
      );
    }
  });
}

/** PKCS#8 encrypted, or a traditional PEM key with its encryption header. */
const ENCRYPTED_PEM = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: *4, *ENCRYPTED/;

function readPrivateKey(key: Buffer): KeyObject {
  try {
    return createPrivateKey(key);
  } catch {
    const encrypted = ENCRYPTED_PEM.test(key.toString('latin1'));
    throw new TlsMaterialError(
      encrypted ? 'tls.key is an encrypted private key: give it unencrypted (the client takes no passphrase)' : 'tls.key is not a PEM private key',
    );
  }
}

/** A certificate no server would take now: expired, or not valid yet (its issuer's clock runs ahead). */
function refuseOutOfDate(x509: X509Certificate): void {
  const now = Date.now();
  const expires = new Date(x509.validTo);
  if (expires.getTime() <= now) throw new TlsMaterialError(`tls.cert expired on ${expires.toISOString()}`);
  const from = new Date(x509.validFrom);
  if (from.getTime() > now) throw Object.assign(new TlsMaterialError(`tls.cert is not valid before ${from.toISOString()}`), { notYet: true });
}

/**
 * What OpenSSL itself makes of the certificate chain and key (a chain whose second certificate is
 * corrupt parses as one certificate above and fails only here). Its reason names an encoding, never
 * key bytes.
 */
function usableByTls(cert: Buffer, key: Buffer): void {
  try {
    createSecureContext({ cert, key });
  } catch (error) {
    throw new TlsMaterialError(`tls.cert (its chain) with tls.key cannot be used for TLS: ${describeThrown(error)}`);
  }
}

/** Channel credentials for TLS, mutual when the material has a certificate and key. */
export function createTlsCredentials(tls: MeshTlsOptions, material: TlsMaterial): ChannelCredentials {
  const verify = tls.expectedServerIds ? { checkServerIdentity: expectServerIdentity(tls.expectedServerIds) } : undefined;
  return credentials.createSsl(material.ca, material.key, material.cert, verify);
}
