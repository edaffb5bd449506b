import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServerCredentials } from '@grpc/grpc-js';
import { DevCertificateAuthority, type PemPair } from '../../apps/demo/src/dev-certs.js';

export const SERVER_ID = 'spiffe://mesh.local/ns/test/sa/echo-server';
export const CLIENT_ID = 'spiffe://mesh.local/ns/test/sa/echo-client';

/** Certificates of one test: a CA, server and client leaves, an expired server, a foreign CA. */
export interface TestPki {
  ca: DevCertificateAuthority;
  otherCa: DevCertificateAuthority;
  server: PemPair;
  expiredServer: PemPair;
  client: PemPair;
  /** Folder where `files` live. */
  dir: string;
  /** The client's material as files (for `tls` options given as paths). */
  files: { ca: string; cert: string; key: string };
  /** Issues a fresh client certificate (same identity, new serial). */
  newClient(): Promise<PemPair>;
}

/** Writes `content` to `path` atomically (temp file + rename), as secret volumes are swapped. */
export function writeAtomic(path: string, content: string): void {
  writeFileSync(`${path}.tmp`, content);
  renameSync(`${path}.tmp`, path);
}

/** A fresh PKI generated at test time (no binary needed). */
export async function createTestPki(): Promise<TestPki> {
  const ca = await DevCertificateAuthority.create('mesh test CA');
  const otherCa = await DevCertificateAuthority.create('foreign CA');
  const serverSpec = { commonName: 'echo-server', dns: ['localhost'], ips: ['127.0.0.1'], uris: [SERVER_ID], usage: 'server' as const };
  const server = await ca.issue(serverSpec);
  const day = 86_400_000;
  const expiredServer = await ca.issue({ ...serverSpec, notBefore: new Date(Date.now() - 10 * day), notAfter: new Date(Date.now() - day) });
  const newClient = () => ca.issue({ commonName: 'echo-client', uris: [CLIENT_ID], usage: 'client' });
  const client = await newClient();
  const dir = mkdtempSync(join(tmpdir(), 'mesh-pki-'));
  const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') };
  writeAtomic(files.ca, ca.cert);
  writeAtomic(files.cert, client.cert);
  writeAtomic(files.key, client.key);
  return { ca, otherCa, server, expiredServer, client, dir, files, newClient };
}

/** Server credentials presenting `pair`, trusting the test CA, requiring a client certificate. */
export function serverCredentials(pki: TestPki, pair: PemPair = pki.server, requireClientCert = true): ServerCredentials {
  return ServerCredentials.createSsl(
    Buffer.from(pki.ca.cert),
    [{ cert_chain: Buffer.from(pair.cert), private_key: Buffer.from(pair.key) }],
    requireClientCert,
  );
}
