import { readFileSync } from 'node:fs';
import type { TestingModule } from '@nestjs/testing';
import { Test } from '@nestjs/testing';
import { firstValueFrom, from, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientModule, MeshClientRegistry, MeshConfigError, type MeshClientError, type MeshClientOptions } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { failureOf } from '../support/errors.js';
import { LogCapture } from '../support/log-capture.js';
import { CLIENT_ID, SERVER_ID, createTestPki, serverCredentials, writeAtomic, type TestPki } from '../support/pki.js';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { createTestApp, echoClient } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

describe('mutual TLS', () => {
  let pki: TestPki;
  let server: EchoServer;
  let expired: EchoServer;
  let plain: EchoServer;
  let logs: LogCapture;
  const messages: string[] = [];

  const tlsClient = (
    target: string,
    tls: Partial<NonNullable<MeshClientOptions['tls']>> = {},
    extra: Partial<MeshClientOptions> = {},
  ): MeshClientOptions => echoClient(target, { insecure: undefined, retry: false, tls: { ...pki.files, serverName: 'localhost', ...tls }, ...extra });

  async function failingCall(options: MeshClientOptions): Promise<MeshClientError> {
    const app = await createTestApp({ clients: [options] });
    try {
      const error = await failureOf(lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}, { timeoutMs: 3000 })));
      messages.push(error.message);
      return error;
    } finally {
      await app.close();
    }
  }

  beforeAll(async () => {
    logs = LogCapture.install();
    pki = await createTestPki();
    server = await startEchoServer({ credentials: serverCredentials(pki) });
    expired = await startEchoServer({ credentials: serverCredentials(pki, pki.expiredServer) });
    plain = await startEchoServer();
  });
  afterAll(async () => {
    LogCapture.uninstall();
    await Promise.all([server.stop(), expired.stop(), plain.stop()]);
  });

  it('all four call kinds round-trip over mTLS, and the server sees the client identity', async () => {
    const app = await createTestApp({ clients: [tlsClient(server.target, { expectedServerIds: [SERVER_ID] })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    try {
      expect(await lastValueFrom(echo.unary<EchoRequest, EchoReply>('Unary', { message: 'u' }))).toMatchObject({ message: 'u' });
      expect(await lastValueFrom(echo.serverStream('ServerStream', { count: 3 }).pipe(toArray()))).toHaveLength(3);
      expect(await lastValueFrom(echo.clientStream('ClientStream', from([{ message: 'a' }])))).toMatchObject({ received: 1 });
      expect(await lastValueFrom(echo.bidiStream('Bidi', from([{ message: 'b' }])))).toMatchObject({ message: 'b' });
      expect(server.lastPeerSan).toBe(`URI:${CLIENT_ID}`);
      expect(server.peerSerials.at(-1)).toBe(pki.client.serial);
    } finally {
      await app.close();
    }
  });

  // What proxies put in grpc-message when their own upstream had trouble (Envoy's words among them)
  const upstreamStories = [
    'upstream connect error or disconnect/reset before headers. reset reason: connection failure, transport failure reason: TLS_error:|268435581:SSL routines:OPENSSL_internal:CERTIFICATE_VERIFY_FAILED:TLS_error_end',
    'No connection established. Last error: Error: certificate has expired. Resolution note: none',
    'upstream http request timeout',
  ];

  it.each([
    ['a plaintext client', () => echoClient(plain.target, { retry: { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 5, budget: false } })],
    [
      'a connected mTLS client',
      () => tlsClient(server.target, {}, { retry: { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 5, budget: false } }),
    ],
  ])(
    "%s: an UNAVAILABLE whose details a server wrote in TLS words is 'unavailable' and retried, not this client's TLS failure",
    async (_label, options) => {
      const app = await createTestApp({ clients: [options()] });
      const echo = app.get(MeshClientRegistry).get('echo');
      try {
        await lastValueFrom(echo.unary('Unary', { message: 'connect' }));
        for (const details of upstreamStories) {
          const call = echo.unary('Unary', {}, { metadata: { 'x-test-status': '14', 'x-test-details': details } });
          const error = await failureOf(lastValueFrom(call));
          expect(error).toMatchObject({ category: 'unavailable', retryable: true, attempts: 3 });
          expect(error.message).not.toMatch(/TLS:/);
        }
      } finally {
        await app.close();
      }
    },
  );

  it("a draining server's UNAVAILABLE in TLS words (its connection already going away) is 'unavailable', not this client's TLS failure", async () => {
    const draining = await startEchoServer({ credentials: serverCredentials(pki) });
    const app = await createTestApp({ clients: [tlsClient(draining.target)] });
    const echo = app.get(MeshClientRegistry).get('echo');
    try {
      await lastValueFrom(echo.unary('Unary', { message: 'connect' }));
      const metadata = { 'x-test-status': '14', 'x-test-details': upstreamStories[0]!, 'x-test-delay-ms': '300' };
      const pending = failureOf(lastValueFrom(echo.unary('Unary', {}, { metadata })));
      expect(await eventually(() => draining.calls.length >= 2, 2000)).toBe(true);
      // GOAWAY: the client's channel leaves READY while the call still runs on the old connection
      draining.server.tryShutdown(() => undefined);
      const error = await pending;
      expect(error).toMatchObject({ category: 'unavailable', retryable: true });
      expect(error.message).not.toMatch(/TLS:/);
    } finally {
      await app.close();
      await draining.stop();
    }
  });

  it('PEM given inline works like files', async () => {
    const app = await createTestApp({
      clients: [tlsClient(server.target, { ca: pki.ca.cert, cert: Buffer.from(pki.client.cert), key: pki.client.key })],
    });
    await expect(firstValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', { message: 'x' }))).resolves.toMatchObject({ message: 'x' });
    await app.close();
  });

  it('a server with the wrong identity is refused, naming expected and presented ids', async () => {
    const error = await failingCall(tlsClient(server.target, { expectedServerIds: ['spiffe://mesh.local/ns/test/sa/billing'] }));
    expect(error).toMatchObject({ category: 'tls', retryable: false, attempts: 1 });
    expect(error.message).toMatch(/TLS: the server presented the wrong identity/);
    expect(error.message).toMatch(/expected one of \[spiffe:\/\/mesh\.local\/ns\/test\/sa\/billing\]/);
    expect(error.message).toContain(`URI:${SERVER_ID}`);
  });

  it('an unknown CA is refused', async () => {
    const error = await failingCall(tlsClient(server.target, { ca: pki.otherCa.cert }));
    expect(error).toMatchObject({ category: 'tls', retryable: false });
    expect(error.message).toMatch(/TLS: the server certificate is not signed by a CA in tls\.ca/);
  });

  it('an expired server certificate is refused', async () => {
    const error = await failingCall(tlsClient(expired.target));
    expect(error).toMatchObject({ category: 'tls', retryable: false });
    expect(error.message).toMatch(/TLS: the server certificate has expired/);
  });

  it('a server presenting a certificate not made for a TLS server (a client certificate) is refused as tls, once, not retried', async () => {
    const misused = await pki.ca.issue({ commonName: 'echo-server', dns: ['localhost'], ips: ['127.0.0.1'], usage: 'client' });
    const wrong = await startEchoServer({ credentials: serverCredentials(pki, misused) });
    try {
      const error = await failingCall(tlsClient(wrong.target, {}, { retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20 } }));
      expect(error).toMatchObject({ category: 'tls', retryable: false, attempts: 1 });
      expect(error.message).toMatch(/TLS: the server certificate is not one for a TLS server/);
    } finally {
      await wrong.stop();
    }
  });

  it("the transport is one choice and a client's own wins over defaults: tls over defaults' insecure, insecure over defaults' tls", async () => {
    const tls = { ...pki.files, serverName: 'localhost' };
    // no insecure key at all (echoClient sets one): the client sets tls and nothing else of the transport
    const secure: MeshClientOptions = echoClient(server.target, { name: 'secure', tls });
    delete secure.insecure;
    const app = await createTestApp({ defaults: { insecure: true }, clients: [secure] });
    const other = await createTestApp({
      defaults: { tls },
      clients: [echoClient(plain.target, { name: 'plain', insecure: true }), echoClient(server.target, { name: 'inherits', insecure: undefined })],
    });
    try {
      expect(await lastValueFrom(app.get(MeshClientRegistry).get('secure').unary<EchoRequest, EchoReply>('Unary', { message: 'm' }))).toMatchObject({
        message: 'm',
      });
      expect(server.lastPeerSan).toBe(`URI:${CLIENT_ID}`); // it went over mTLS
      expect(await lastValueFrom(other.get(MeshClientRegistry).get('plain').unary<EchoRequest, EchoReply>('Unary', { message: 'p' }))).toMatchObject({
        message: 'p',
      });
      expect(
        await lastValueFrom(other.get(MeshClientRegistry).get('inherits').unary<EchoRequest, EchoReply>('Unary', { message: 'i' })),
      ).toMatchObject({ message: 'i' });
    } finally {
      await app.close();
      await other.close();
    }
  });

  it('a missing client certificate is refused', async () => {
    const error = await failingCall(tlsClient(server.target, { cert: undefined, key: undefined }));
    expect(error).toMatchObject({ category: 'tls', retryable: false });
    expect(error.message).toMatch(/TLS: the server requires a client certificate/);
  });

  it('TLS against a plaintext server is refused', async () => {
    const error = await failingCall(tlsClient(plain.target));
    expect(error).toMatchObject({ category: 'tls', retryable: false });
    expect(error.message).toMatch(/TLS: the server does not speak TLS/);
  });

  it.each<[string, Partial<NonNullable<MeshClientOptions['tls']>>, RegExp]>([
    ['a key that does not match the certificate', { key: 'KEY_OF_OTHER' }, /clients\[0\]\.tls\.key does not belong to tls\.cert/],
    ['a CA that is not PEM', { ca: '-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n' }, /\.tls\.ca is not a PEM certificate/],
    ['a missing file', { cert: '/nonexistent/client.pem' }, /\.tls\.cert is neither PEM nor a readable file '\/nonexistent\/client\.pem' \(ENOENT\)/],
  ])('bad certificate material fails start: %s', async (_label, tls, message) => {
    const otherKey = (await pki.newClient()).key;
    const resolved = { ...tls, key: tls.key === 'KEY_OF_OTHER' ? otherKey : (tls.key ?? pki.files.key) };
    const error = await Test.createTestingModule({ imports: [MeshClientModule.forRoot({ clients: [tlsClient(server.target, resolved)] })] })
      .compile()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeshConfigError);
    messages.push((error as Error).message);
    expect((error as Error).message).toMatch(message);
  });

  it('production: an insecure client fails start; elsewhere it logs one warning', async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      const error = await Test.createTestingModule({ imports: [MeshClientModule.forRoot({ clients: [echoClient(plain.target)] })] })
        .compile()
        .catch((e: unknown) => e);
      expect(error).toBeInstanceOf(MeshConfigError);
      expect((error as Error).message).toMatch(/clients\[0\]\.insecure: mutual TLS is required/);
      const noCert = await Test.createTestingModule({
        imports: [MeshClientModule.forRoot({ clients: [tlsClient(server.target, { cert: undefined, key: undefined })] })],
      })
        .compile()
        .catch((e: unknown) => e);
      expect((noCert as Error).message).toMatch(/\.tls\.cert: mutual TLS is required/);
    } finally {
      process.env.NODE_ENV = previous;
    }
    const before = logs.lines.length;
    const app = await createTestApp({ clients: [echoClient(plain.target)] });
    await app.close();
    const warnings = logs.lines.slice(before).filter((l) => l.startsWith('warn') && l.includes("client 'echo' is insecure"));
    expect(warnings).toHaveLength(1);
  });

  it('rotation under load: 500 calls at concurrency 16 while the cert files change: 0 failures, new cert in use within 2 s', async () => {
    const app: TestingModule = await createTestApp({ clients: [tlsClient(server.target, { watch: true, expectedServerIds: [SERVER_ID] })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    const next = await pki.newClient();
    let failures = 0;
    let rotatedAt = 0;
    let seenAt = 0;
    let done = 0;
    const worker = async (): Promise<void> => {
      while (done < 500) {
        done++;
        if (done === 100) {
          writeAtomic(pki.files.key, next.key);
          writeAtomic(pki.files.cert, next.cert);
          rotatedAt = performance.now();
        }
        await lastValueFrom(echo.unary('Unary', { message: 'r' })).catch(() => failures++);
        if (!seenAt && server.peerSerials.at(-1) === next.serial) seenAt = performance.now();
        await new Promise((r) => setTimeout(r, 80));
      }
    };
    try {
      await Promise.all(Array.from({ length: 16 }, worker));
      expect(failures).toBe(0);
      expect(seenAt).toBeGreaterThan(0);
      expect(seenAt - rotatedAt).toBeLessThan(2000);
      expect(logs.lines.some((l) => l.includes("client 'echo': TLS credentials reloaded"))).toBe(true);
    } finally {
      writeAtomic(pki.files.cert, pki.client.cert);
      writeAtomic(pki.files.key, pki.client.key);
      await app.close();
    }
  });

  it('a broken new file is reported and the old credentials stay in use', async () => {
    const app = await createTestApp({ clients: [tlsClient(server.target, { watch: true })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    try {
      await lastValueFrom(echo.unary('Unary', {}));
      writeAtomic(pki.files.key, (await pki.newClient()).key); // no longer matches the cert
      const reported = () =>
        logs.lines.some((l) => l.startsWith('warn') && l.includes('new TLS files were not loaded (tls.key does not belong to tls.cert)'));
      expect(await eventually(reported, 3000)).toBe(true);
      await expect(lastValueFrom(echo.unary('Unary', { message: 'still' }))).resolves.toMatchObject({ message: 'still' });
      expect(server.peerSerials.at(-1)).toBe(pki.client.serial);
    } finally {
      writeAtomic(pki.files.key, pki.client.key);
      await app.close();
    }
  });

  it("a rotation to an expired client certificate is logged and the credentials in use stay (tls-refusal.e2e: such a certificate at start fails calls as 'tls')", async () => {
    const day = 86_400_000;
    const expired = await pki.ca.issue({
      commonName: 'echo-client',
      uris: [CLIENT_ID],
      usage: 'client',
      notBefore: new Date(Date.now() - 10 * day),
      notAfter: new Date(Date.now() - day),
    });
    const app = await createTestApp({ clients: [tlsClient(server.target, { watch: true })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    try {
      await lastValueFrom(echo.unary('Unary', {}));
      writeAtomic(pki.files.key, expired.key);
      writeAtomic(pki.files.cert, expired.cert);
      const reported = () => logs.lines.some((l) => l.startsWith('warn') && l.includes('new TLS files were not loaded (tls.cert expired on'));
      expect(await eventually(reported, 3000)).toBe(true);
      await expect(lastValueFrom(echo.unary('Unary', { message: 'still' }))).resolves.toMatchObject({ message: 'still' });
      expect(server.peerSerials.at(-1)).toBe(pki.client.serial);
    } finally {
      writeAtomic(pki.files.cert, pki.client.cert);
      writeAtomic(pki.files.key, pki.client.key);
      await app.close();
    }
  });

  it('no key material appears in any log line or error message of these tests', () => {
    const keyBodies = [pki.client.key, readFileSync(pki.files.key, 'utf8'), pki.server.key].map((pem) => pem.split('\n')[1]!);
    const text = [...logs.lines, ...messages].join('\n');
    expect(messages.length).toBeGreaterThan(5);
    for (const body of keyBodies) expect(text).not.toContain(body);
    expect(text).not.toContain('PRIVATE KEY');
  });
});
