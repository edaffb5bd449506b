import { writeFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import type { TLSSocket } from 'node:tls';
import { join } from 'node:path';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, type MeshClientError } from '@datapunk/mesh-client';
import { CCorePeer } from '../support/c-core-peer.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { failureOf } from '../support/errors.js';
import { createTestPki, serverCredentials, type TestPki } from '../support/pki.js';
import { createTestApp, echoClient } from '../support/test-app.js';

/**
 * A server that refuses the client's certificate does so after the TLS 1.3 handshake completed on
 * the client's side: grpc-js only sees a connection that closed ("Failed to connect"), from
 * grpc-js and C-core servers alike.
 */
describe('a server refusing the client certificate', () => {
  let pki: TestPki;
  let grpcJs: EchoServer;
  let cCore: CCorePeer;
  const files: Record<string, { cert: string; key: string }> = {};

  beforeAll(async () => {
    pki = await createTestPki();
    const write = (name: string, pair: { cert: string; key: string }): { cert: string; key: string } => {
      const cert = join(pki.dir, `${name}.pem`);
      const key = join(pki.dir, `${name}.key`);
      writeFileSync(cert, pair.cert);
      writeFileSync(key, pair.key);
      return { cert, key };
    };
    files.foreign = write('foreign', await pki.otherCa.issue({ commonName: 'intruder', uris: ['spiffe://elsewhere/sa/x'], usage: 'client' }));
    const day = 86_400_000;
    files.expired = write(
      'expired',
      await pki.ca.issue({
        commonName: 'old',
        uris: ['spiffe://mesh.local/ns/test/sa/old'],
        usage: 'client',
        notBefore: new Date(Date.now() - 10 * day),
        notAfter: new Date(Date.now() - day),
      }),
    );
    const server = write('server', pki.server);
    grpcJs = await startEchoServer({ credentials: serverCredentials(pki) });
    cCore = await CCorePeer.start({ ca: pki.files.ca, ...server, requireClientCert: true });
  });
  afterAll(async () => {
    await grpcJs.stop();
    await cCore.stop();
  });

  async function call(target: string, cert: { cert?: string; key?: string }): Promise<MeshClientError> {
    const tls = { ca: pki.files.ca, serverName: 'localhost', ...cert };
    const app = await createTestApp({
      clients: [echoClient(target, { insecure: undefined, tls: tls as never, retry: { initialBackoffMs: 10, maxBackoffMs: 10 } })],
    });
    try {
      return await failureOf(lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}, { timeoutMs: 3000 })));
    } finally {
      await app.close();
    }
  }

  for (const [peer, target] of [
    ['grpc-js', () => grpcJs.target],
    ['C-core', () => cCore.target],
  ] as const) {
    it(`${peer}: a certificate of a CA it does not trust is 'tls', not retried, and says so`, async () => {
      const error = await call(target(), files.foreign!);
      expect(error).toMatchObject({ category: 'tls', retryable: false, attempts: 1 });
      expect(error.message).toContain('TLS: the server refused the client certificate');
    });

    it(`${peer}: an expired client certificate is 'tls', not retried`, async () => {
      const error = await call(target(), files.expired!);
      expect(error).toMatchObject({ category: 'tls', retryable: false, attempts: 1 });
      expect(error.message).toContain('the server refused the client certificate');
    });

    it(`${peer}: no client certificate is 'tls': the server requires one`, async () => {
      const error = await call(target(), {});
      expect(error).toMatchObject({ category: 'tls', retryable: false, attempts: 1 });
      expect(error.message).toContain('TLS: the server requires a client certificate (set tls.cert and tls.key)');
    });
  }

  it('a server that took the certificate, then closes every connection right after the handshake (restarting, no backend), is unavailable and retried', async () => {
    const server = await startEchoServer({ credentials: serverCredentials(pki) });
    const port = server.port;
    const tls = { ca: pki.files.ca, serverName: 'localhost', cert: pki.files.cert, key: pki.files.key };
    const app = await createTestApp({
      clients: [echoClient(server.target, { insecure: undefined, tls, retry: { initialBackoffMs: 10, maxBackoffMs: 10, budget: false } })],
    });
    // asks for no client certificate at all: it refuses none
    const closer = createSecureServer({ cert: pki.server.cert, key: pki.server.key });
    closer.on('secureConnection', (socket: TLSSocket) => socket.destroy());
    try {
      const echo = app.get(MeshClientRegistry).get('echo');
      await lastValueFrom(echo.unary('Unary', { message: 'taken' }));
      await server.stop();
      await new Promise<void>((resolve) => closer.listen(port, '127.0.0.1', resolve));
      const error = await failureOf(lastValueFrom(echo.unary('Unary', {}, { timeoutMs: 3000 })));
      expect(error).toMatchObject({ category: 'unavailable', retryable: true, attempts: 3 });
      expect(error.message).not.toMatch(/TLS:/);
    } finally {
      await app.close();
      await new Promise((resolve) => closer.close(resolve));
    }
  });

  it('a server that is simply down stays unavailable (and retried)', async () => {
    const down = await startEchoServer();
    const target = down.target;
    await down.stop();
    const error = await call(target, files.foreign!);
    expect(error).toMatchObject({ category: 'unavailable', attempts: 3 });
  });
});
