import { readFileSync } from 'node:fs';
import { credentials, type ChannelCredentials } from '@grpc/grpc-js';
import type { MeshTlsOptions } from '../module/mesh-client-options.interface.js';

/** A PEM given inline (string or Buffer) or the path of a file holding it. */
export function readPem(value: string | Buffer): Buffer {
  if (Buffer.isBuffer(value)) return value;
  return value.includes('-----BEGIN') ? Buffer.from(value) : readFileSync(value);
}

/** Channel credentials for TLS, mutual when `cert` and `key` are given. */
export function createTlsCredentials(tls: MeshTlsOptions): ChannelCredentials {
  const ca = readPem(tls.ca);
  const key = tls.key === undefined ? null : readPem(tls.key);
  const cert = tls.cert === undefined ? null : readPem(tls.cert);
  return credentials.createSsl(ca, key, cert);
}
