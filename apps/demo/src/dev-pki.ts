import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { DevCertificateAuthority } from './dev-certs.js';

/** SPIFFE ids of the demo's two workloads. */
export const GATEWAY_ID = 'spiffe://datapunk.local/ns/demo/sa/gateway';
export const INVENTORY_ID = 'spiffe://datapunk.local/ns/demo/sa/inventory';

/** File paths of the demo's development PKI. */
export interface DevPki {
  ca: string;
  gateway: { cert: string; key: string };
  inventory: { cert: string; key: string };
}

function pathsIn(dir: string): DevPki {
  return {
    ca: join(dir, 'ca.pem'),
    gateway: { cert: join(dir, 'gateway.pem'), key: join(dir, 'gateway.key') },
    inventory: { cert: join(dir, 'inventory.pem'), key: join(dir, 'inventory.key') },
  };
}

function stillGood(paths: DevPki): boolean {
  const files = [paths.ca, paths.gateway.cert, paths.gateway.key, paths.inventory.cert, paths.inventory.key];
  if (!files.every((f) => existsSync(f))) return false;
  const soon = Date.now() + 86_400_000;
  return [paths.ca, paths.gateway.cert, paths.inventory.cert].every((f) => new Date(new X509Certificate(readFileSync(f)).validTo).getTime() > soon);
}

/**
 * The demo's development PKI in `dir` (git-ignored): a dev CA and SPIFFE-style certificates for
 * the gateway (client) and the inventory backend (server). Made on first run, reused after, made
 * again when a certificate is about to expire.
 */
export async function ensureDevPki(dir: string): Promise<{ paths: DevPki; created: boolean }> {
  const paths = pathsIn(dir);
  if (stillGood(paths)) return { paths, created: false };
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const ca = await DevCertificateAuthority.create('datapunk demo dev CA');
  const gateway = await ca.issue({ commonName: 'gateway', uris: [GATEWAY_ID], usage: 'client' });
  const inventory = await ca.issue({ commonName: 'inventory', dns: ['localhost'], ips: ['127.0.0.1'], uris: [INVENTORY_ID], usage: 'server' });
  writeFileSync(paths.ca, ca.cert);
  writeFileSync(paths.gateway.cert, gateway.cert);
  writeFileSync(paths.gateway.key, gateway.key, { mode: 0o600 });
  writeFileSync(paths.inventory.cert, inventory.cert);
  writeFileSync(paths.inventory.key, inventory.key, { mode: 0o600 });
  return { paths, created: true };
}
