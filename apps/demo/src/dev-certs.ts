import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

type CryptoKeyPair = webcrypto.CryptoKeyPair;
type CryptoKey = webcrypto.CryptoKey;

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 86_400_000;

/** A certificate and its private key, both PEM. */
export interface PemPair {
  cert: string;
  key: string;
  /** Serial number as hex, as TLS peers report it. */
  serial: string;
}

/** What a leaf certificate says about its holder. */
export interface LeafSpec {
  commonName: string;
  /** SAN DNS names. */
  dns?: string[];
  /** SAN IP addresses. */
  ips?: string[];
  /** SAN URIs, e.g. SPIFFE ids. */
  uris?: string[];
  /** Validity window; default: from an hour ago for 30 days. */
  notBefore?: Date;
  notAfter?: Date;
  usage?: 'server' | 'client' | 'both';
}

async function exportKey(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der
    .toString('base64')
    .match(/.{1,64}/g)!
    .join('\n')}\n-----END PRIVATE KEY-----\n`;
}

function randomSerial(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(12));
  bytes[0] = (bytes[0]! & 0x7f) | 0x10; // positive, and no leading zero nibble (peers print serials without it)
  return Buffer.from(bytes).toString('hex');
}

/**
 * A throwaway certificate authority for development and tests: issues ECDSA P-256 leaf
 * certificates with SAN DNS, IP and URI (SPIFFE) names and any validity window.
 */
export class DevCertificateAuthority {
  private constructor(
    readonly cert: string,
    private readonly caCert: x509.X509Certificate,
    private readonly caKeys: CryptoKeyPair,
  ) {}

  /** A new self-signed CA named `name`. */
  static async create(name = 'mesh dev CA'): Promise<DevCertificateAuthority> {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
    const cert = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: randomSerial(),
      name: `CN=${name}`,
      notBefore: new Date(Date.now() - 3_600_000),
      notAfter: new Date(Date.now() + 365 * DAY),
      keys,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(true, 1, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
        await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ],
    });
    return new DevCertificateAuthority(cert.toString('pem'), cert, keys);
  }

  /** The CA's private key, PEM (to persist a dev CA). */
  async key(): Promise<string> {
    return exportKey(this.caKeys.privateKey);
  }

  /** Issues a leaf certificate signed by this CA. */
  async issue(spec: LeafSpec): Promise<PemPair> {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
    const names: x509.JsonGeneralName[] = [
      ...(spec.dns ?? []).map((value) => ({ type: 'dns' as const, value })),
      ...(spec.ips ?? []).map((value) => ({ type: 'ip' as const, value })),
      ...(spec.uris ?? []).map((value) => ({ type: 'url' as const, value })),
    ];
    const usage = spec.usage ?? 'both';
    const eku = [
      ...(usage !== 'client' ? [x509.ExtendedKeyUsage.serverAuth] : []),
      ...(usage !== 'server' ? [x509.ExtendedKeyUsage.clientAuth] : []),
    ];
    const serial = randomSerial();
    const cert = await x509.X509CertificateGenerator.create({
      serialNumber: serial,
      subject: `CN=${spec.commonName}`,
      issuer: this.caCert.subject,
      notBefore: spec.notBefore ?? new Date(Date.now() - 3_600_000),
      notAfter: spec.notAfter ?? new Date(Date.now() + 30 * DAY),
      publicKey: keys.publicKey,
      signingKey: this.caKeys.privateKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
        new x509.ExtendedKeyUsageExtension(eku, false),
        new x509.SubjectAlternativeNameExtension(names, false),
        await x509.AuthorityKeyIdentifierExtension.create(this.caCert, false),
      ],
    });
    return { cert: cert.toString('pem'), key: await exportKey(keys.privateKey), serial: serial.toUpperCase() };
  }
}
