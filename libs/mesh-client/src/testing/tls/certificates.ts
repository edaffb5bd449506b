import { createHash, createPublicKey, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';
import {
  bitString,
  boolean,
  explicit,
  implicit,
  namedBits,
  octetString,
  oid,
  sequence,
  set,
  smallInteger,
  time,
  unsignedInteger,
  utf8String,
} from './der.js';

const OID = {
  commonName: '2.5.4.3',
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  basicConstraints: '2.5.29.19',
  keyUsage: '2.5.29.15',
  extKeyUsage: '2.5.29.37',
  subjectAltName: '2.5.29.17',
  subjectKeyId: '2.5.29.14',
  authorityKeyId: '2.5.29.35',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2',
} as const;
const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const;
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A certificate and its private key, PEM. */
export interface PemPair {
  cert: string;
  key: string;
}

/** A throwaway PKI for one fake: its CA, a server certificate and a client certificate. */
export interface FakePki {
  /** The CA certificate that signed both leaves, PEM. */
  ca: string;
  /** Presented by the fake: SAN DNS `localhost` and IP `127.0.0.1`. */
  server: PemPair;
  /** For the clients of the fake (mutual TLS). */
  client: PemPair;
}

interface Issuer {
  name: Buffer;
  key: KeyObject;
  keyId: Buffer;
}

const pem = (label: string, der: Buffer): string =>
  `-----BEGIN ${label}-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END ${label}-----\n`;

const nameOf = (commonName: string): Buffer => sequence(set(sequence(oid(OID.commonName), utf8String(commonName))));

const extension = (id: string, critical: boolean, value: Buffer): Buffer =>
  sequence(oid(id), ...(critical ? [boolean(true)] : []), octetString(value));

/** SAN entries: dNSName [2] or iPAddress [7] (IPv4 only, which is what the fake listens on). */
function altNames(names: readonly string[]): Buffer {
  return sequence(...names.map((n) => (isIP(n) === 4 ? implicit(7, Buffer.from(n.split('.').map(Number))) : implicit(2, Buffer.from(n, 'ascii')))));
}

/** Signs one certificate (X.509 v3, ECDSA P-256 with SHA-256) for `subjectKey`'s public half. */
function certificate(subject: string, subjectKey: KeyObject, issuer: Issuer | undefined, extensions: Buffer[]): { der: Buffer; keyId: Buffer } {
  const spki = createPublicKey(subjectKey).export({ type: 'spki', format: 'der' });
  const keyId = createHash('sha1').update(spki).digest(); // RFC 5280 4.2.1.2 allows any unique value
  const signer = issuer ?? { name: nameOf(subject), key: subjectKey, keyId };
  const algorithm = sequence(oid(OID.ecdsaWithSha256));
  const now = Date.now();
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(Buffer.concat([Buffer.from([0x10]), randomBytes(15)])),
    algorithm,
    signer.name,
    sequence(time(new Date(now - HOUR)), time(new Date(now + 30 * DAY))),
    nameOf(subject),
    spki,
    explicit(
      3,
      sequence(
        ...extensions,
        extension(OID.subjectKeyId, false, octetString(keyId)),
        extension(OID.authorityKeyId, false, sequence(implicit(0, signer.keyId))),
      ),
    ),
  );
  return { der: sequence(tbs, algorithm, bitString(sign('sha256', tbs, signer.key))), keyId };
}

const newKey = (): KeyObject => generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;

function leaf(ca: Issuer, commonName: string, usage: 'serverAuth' | 'clientAuth', names: readonly string[]): PemPair {
  const key = newKey();
  const { der } = certificate(commonName, key, ca, [
    extension(OID.basicConstraints, true, sequence()),
    extension(OID.keyUsage, true, namedBits([KEY_USAGE.digitalSignature])),
    extension(OID.extKeyUsage, false, sequence(oid(OID[usage]))),
    ...(names.length > 0 ? [extension(OID.subjectAltName, false, altNames(names))] : []),
  ]);
  return { cert: pem('CERTIFICATE', der), key: key.export({ type: 'pkcs8', format: 'pem' }) as string };
}

/**
 * A fresh CA (valid an hour back and 30 days on) with one server and one client certificate,
 * made with node:crypto alone: ECDSA P-256 keys, certificates written by the small DER writer.
 */
export function createFakePki(serviceName: string): FakePki {
  const caKey = newKey();
  const caName = `MeshFake CA for ${serviceName}`;
  const ca = certificate(caName, caKey, undefined, [
    extension(OID.basicConstraints, true, sequence(boolean(true))),
    extension(OID.keyUsage, true, namedBits([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
  ]);
  const issuer: Issuer = { name: nameOf(caName), key: caKey, keyId: ca.keyId };
  return {
    ca: pem('CERTIFICATE', ca.der),
    server: leaf(issuer, serviceName, 'serverAuth', ['localhost', '127.0.0.1']),
    client: leaf(issuer, `${serviceName} test client`, 'clientAuth', []),
  };
}
