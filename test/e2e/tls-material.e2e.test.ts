import { createPrivateKey } from 'node:crypto';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, isMeshClientError, isMeshConfigError, type MeshClient, type MeshClientOptions } from '@datapunk/mesh-client';
import type { PemPair } from '../../apps/demo/src/dev-certs.js';
import { messagesOf, useUncaughtCollector } from '../support/call-guards.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { LogCapture } from '../support/log-capture.js';
import { CLIENT_ID, SERVER_ID, createTestPki, serverCredentials, writeAtomic, type TestPki } from '../support/pki.js';
import { createTestApp, echoClient, moduleStartError } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

const DAY = 86_400_000;

/** `pair`'s certificate followed by a corrupt second block: it parses as one certificate, OpenSSL refuses the chain. */
const withCorruptIntermediate = (pair: PemPair): string => {
  const body = pair.cert.trimEnd().split('\n').slice(1, 3).join('\n');
  return `${pair.cert.trimEnd()}\n-----BEGIN CERTIFICATE-----\n${body}\n-----END CERTIFICATE-----\n`;
};

describe('TLS material: what start, reload and the identity check accept', () => {
  let pki: TestPki;
  let server: EchoServer;
  let logs: LogCapture;
  const uncaught = useUncaughtCollector();

  beforeAll(async () => {
    logs = LogCapture.install();
    pki = await createTestPki();
    server = await startEchoServer({ credentials: serverCredentials(pki) });
  });
  afterAll(async () => {
    LogCapture.uninstall();
    await server.stop();
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });

  const startError = (tls: Record<string, unknown>) =>
    moduleStartError({ requireMtls: false, clients: [echoClient('127.0.0.1:1', { insecure: undefined, tls: { ca: pki.ca.cert, ...tls } })] });

  /** 'ok', or the category and message of the call's failure, through a client with `tls`. */
  async function outcome(target: string, tls: Record<string, unknown>): Promise<string> {
    const app = await createTestApp({
      clients: [echoClient(target, { insecure: undefined, retry: false, tls: { ...pki.files, serverName: 'localhost', ...tls } })],
    });
    try {
      return await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}, { timeoutMs: 3000 })).then(
        () => 'ok',
        (e: unknown) => (isMeshClientError(e) ? `${e.category}: ${e.message}` : `not a MeshClientError: ${String(e)}`),
      );
    } finally {
      await app.close();
    }
  }

  describe('at start', () => {
    it('a chain with a corrupt intermediate (which parses as one certificate): a MeshConfigError naming the client and tls.cert', async () => {
      const error = await startError({ cert: withCorruptIntermediate(pki.client), key: pki.client.key });
      expect(isMeshConfigError(error), inspect(error)).toBe(true);
      expect((error as Error).message).toMatch(/^clients\[0\]\.tls\.cert \(its chain\) with tls\.key cannot be used for TLS: .+\(client 'echo'\)/);
    });

    it('a CA bundle whose second certificate is corrupt (OpenSSL would drop it without a word): which one', async () => {
      const error = await startError({
        ca: withCorruptIntermediate({ ...pki.client, cert: pki.ca.cert }),
        cert: pki.client.cert,
        key: pki.client.key,
      });
      expect(isMeshConfigError(error), inspect(error)).toBe(true);
      expect((error as Error).message).toBe("clients[0].tls.ca: certificate 2 of 2 is not a PEM certificate (client 'echo')");
    });

    it('an IP address target without tls.serverName: refused on Node 26 and later, which refuse it as the server name', async () => {
      const error = await moduleStartError({ requireMtls: false, clients: [echoClient('127.0.0.1:1', { insecure: undefined, tls: pki.files })] });
      if (Number(process.versions.node.split('.')[0]) < 26) return expect(error).toBeUndefined();
      expect(isMeshConfigError(error), inspect(error)).toBe(true);
      expect((error as Error).message).toMatch(/^clients\[0\]\.tls\.serverName is needed for a target given as an IP address on Node 26 and later/);
    });

    it('an encrypted private key: says it is encrypted, never quoting it', async () => {
      const encrypted = createPrivateKey(pki.client.key).export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pw' }) as string;
      const error = await startError({ cert: pki.client.cert, key: encrypted });
      expect(isMeshConfigError(error)).toBe(true);
      expect((error as Error).message).toContain('tls.key is an encrypted private key: give it unencrypted (the client takes no passphrase)');
      expect(inspect(error)).not.toContain(encrypted.split('\n')[1]!);
    });
  });

  describe('expectedServerIds: the name must be in the right kind of SAN entry', () => {
    const serving = async (pair: PemPair): Promise<EchoServer> => startEchoServer({ credentials: serverCredentials(pki, pair) });

    it('a SPIFFE id matches a URI SAN only: a certificate spelling it as a DNS name is refused', async () => {
      const impostor = await pki.ca.issue({
        commonName: 'impostor',
        dns: [SERVER_ID, 'localhost'],
        uris: ['spiffe://mesh.local/ns/test/sa/impostor'],
        usage: 'server',
      });
      const other = await serving(impostor);
      try {
        expect(await outcome(other.target, { expectedServerIds: [SERVER_ID] })).toMatch(/^tls: .*server identity mismatch/);
        // the real one (the id as its URI SAN) is taken
        expect(await outcome(server.target, { expectedServerIds: [SERVER_ID] })).toBe('ok');
      } finally {
        await other.stop();
      }
    });

    it('a DNS name matches a DNS SAN only (without case): a certificate spelling it as a URI SAN is refused', async () => {
      const impostor = await pki.ca.issue({ commonName: 'impostor', uris: ['inventory.mesh.local'], ips: ['127.0.0.1'], usage: 'server' });
      const genuine = await pki.ca.issue({ commonName: 'inventory', dns: ['inventory.mesh.local'], ips: ['127.0.0.1'], usage: 'server' });
      const [bad, good] = [await serving(impostor), await serving(genuine)];
      try {
        expect(await outcome(bad.target, { expectedServerIds: ['inventory.mesh.local'] })).toMatch(/^tls: .*server identity mismatch/);
        expect(await outcome(good.target, { expectedServerIds: ['Inventory.Mesh.Local'] })).toBe('ok');
      } finally {
        await bad.stop();
        await good.stop();
      }
    });
  });

  describe('on reload (tls.watch)', () => {
    /** Own copies of the client's files, for one test to rotate. */
    const files = () => {
      const d = mkdtempSync(join(tmpdir(), 'mesh-reload-'));
      const f = { ca: join(d, 'ca.pem'), cert: join(d, 'client.pem'), key: join(d, 'client.key') };
      copyFileSync(pki.files.ca, f.ca);
      copyFileSync(pki.files.cert, f.cert);
      copyFileSync(pki.files.key, f.key);
      return f;
    };
    const watching = (f: { ca: string; cert: string; key: string }): MeshClientOptions =>
      echoClient(server.target, { insecure: undefined, retry: false, tls: { ...f, serverName: 'localhost', watch: true } });
    const warning = (from: number): string | undefined => logs.lines.slice(from).find((l) => l.includes('new TLS files were not loaded'));

    /** A client watching its own copy of the files, after one call: `rotate` gets them and the log position before it. */
    async function withWatchingClient(rotate: (echo: MeshClient, f: ReturnType<typeof files>, from: number) => Promise<void>): Promise<void> {
      const f = files();
      const app = await createTestApp({ clients: [watching(f)] });
      const echo = app.get(MeshClientRegistry).get('echo');
      try {
        await lastValueFrom(echo.unary('Unary', {}));
        await rotate(echo, f, logs.lines.length);
      } finally {
        await app.close();
      }
    }

    it('a chain OpenSSL refuses: the warning names it, calls and update() go on with the credentials in use', () =>
      withWatchingClient(async (echo, f, from) => {
        const next = await pki.newClient();
        writeAtomic(f.key, next.key);
        writeAtomic(f.cert, withCorruptIntermediate(next));
        expect(await eventually(() => warning(from) !== undefined, 3000)).toBe(true);
        expect(warning(from)).toMatch(/tls\.cert \(its chain\) with tls\.key cannot be used for TLS: .+; the previous credentials stay in use/);
        expect(() => echo.update({ pool: { size: 2 } })).not.toThrow();
        await expect(lastValueFrom(echo.unary('Unary', { message: 'still' }))).resolves.toMatchObject({ message: 'still' });
        expect(server.peerSerials.at(-1)).toBe(pki.client.serial);
      }));

    it('a certificate not valid yet: refused with its date, the old one stays, and it is taken once it is valid', () =>
      withWatchingClient(async (echo, f, from) => {
        // (certificates count in whole seconds)
        const validFrom = new Date(Math.ceil((Date.now() + 2500) / 1000) * 1000);
        const soon = await pki.ca.issue({
          commonName: 'echo-client',
          uris: [CLIENT_ID],
          usage: 'client',
          notBefore: validFrom,
          notAfter: new Date(Date.now() + DAY),
        });
        writeAtomic(f.key, soon.key);
        writeAtomic(f.cert, soon.cert);
        expect(await eventually(() => warning(from) !== undefined, 2000)).toBe(true);
        expect(warning(from)).toContain(`tls.cert is not valid before ${validFrom.toISOString()}`);
        await lastValueFrom(echo.unary('Unary', {}));
        expect(server.peerSerials.at(-1)).toBe(pki.client.serial);
        // tried again at every check: taken once valid
        expect(await eventually(() => logs.lines.slice(from).some((l) => l.includes('TLS credentials reloaded')), 6000)).toBe(true);
        await lastValueFrom(echo.unary('Unary', {}));
        expect(server.peerSerials.at(-1)).toBe(soon.serial);
      }));
  });
});
