import { randomBytes } from 'node:crypto';
import type { Socket } from 'node:net';
import { register } from 'prom-client';
import { lastValueFrom } from 'rxjs';
import type { TestingModule } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, type MeshClient, type MeshClientError } from '@datapunk/mesh-client';
import { failureOf } from '../support/errors.js';
import { HostileServer, TcpPeer, grpcFrame, respond } from '../support/hostile-server.js';
import { parseMetrics } from '../support/prometheus.js';
import { createTestApp, echoClient } from '../support/test-app.js';
import { eventually, settle } from '../support/wait.js';

const NODE_MAJOR = Number(process.versions.node.split('.')[0]);
const EMPTY_REPLY = grpcFrame(Buffer.alloc(0));
/** 100 KB that HPACK cannot compress below its 64 KiB field limit. */
const hugeHeader = (): string => randomBytes(75_000).toString('base64');
/** A status message made to flood and forge log lines. */
const FLOOD = `line1\r\nInjected: yes\u001b[31mred\u0000${'x'.repeat(60_000)}`;
const goneAway = new Set<string>();

/**
 * One hostile HTTP/2 peer, steered per request by `x-attack` (and `x-arg`). Every attack here
 * must end in a MeshClientError by the call's deadline: no crash, no hang, nothing unbounded.
 */
function attack(stream: Parameters<ConstructorParameters<typeof HostileServer>[0]>[0], headers: Record<string, string | string[] | undefined>): void {
  const arg = String(headers['x-arg'] ?? '');
  switch (headers['x-attack']) {
    case 'status':
      return respond(stream, { trailers: { 'grpc-status': arg, 'grpc-message': 'odd' } });
    case 'message':
      return respond(stream, { trailers: { 'grpc-status': '13', 'grpc-message': encodeURIComponent(FLOOD) } });
    case 'pushback':
      return respond(stream, { trailers: { 'grpc-status': '14', 'grpc-retry-pushback-ms': arg } });
    case 'huge-header':
      return respond(stream, { headers: { 'x-big': hugeHeader() }, body: EMPTY_REPLY, trailers: { 'grpc-status': '0' } });
    case 'huge-trailer':
      return respond(stream, { body: EMPTY_REPLY, trailers: { 'grpc-status': '0', 'x-big': hugeHeader() } });
    case 'slow':
      setTimeout(() => !stream.destroyed && respond(stream, { body: EMPTY_REPLY, trailers: { 'grpc-status': '0' } }), 5000).unref();
      return;
    case 'declared-huge':
      return respond(stream, { body: grpcFrame(Buffer.alloc(10), { declaredLength: 0xffff_fff0 }), trailers: { 'grpc-status': '0' } });
    case 'truncated':
      return respond(stream, { body: grpcFrame(Buffer.alloc(10), { declaredLength: 100 }), trailers: { 'grpc-status': '0' } });
    case 'compressed-unannounced':
      return respond(stream, { body: grpcFrame(Buffer.from('not gzip'), { compressed: true }), trailers: { 'grpc-status': '0' } });
    case 'many-headers': {
      const many: Record<string, string> = {};
      for (let i = 0; i < 5000; i++) many[`x-h${String(i)}`] = 'v';
      return respond(stream, { headers: many, body: EMPTY_REPLY, trailers: { 'grpc-status': '0' } });
    }
    case 'never':
      return;
    case 'goaway-once':
      if (!goneAway.has(arg)) {
        goneAway.add(arg);
        stream.session?.goaway(0, 0); // going away: nothing of this connection will be processed
        return stream.close(7); // REFUSED_STREAM
      }
      return respond(stream, { body: EMPTY_REPLY, trailers: { 'grpc-status': '0' } });
    case 'rst':
      return stream.close(Number(arg));
    case 'html':
      // a proxy's or web server's error page, answered 200 (with an OK status, or none)
      return respond(stream, {
        headers: { 'content-type': 'text/html; charset=utf-8' },
        body: arg === 'framed' ? EMPTY_REPLY : Buffer.from('<html>hi</html>'),
        ...(arg === 'framed' ? { trailers: { 'grpc-status': '0' } } : {}),
      });
    case 'html-spoof':
      // a 200 page that says in its trailers what grpc-js says of an HTTP error status
      return respond(stream, {
        headers: { 'content-type': 'text/html' },
        body: EMPTY_REPLY,
        trailers: { 'grpc-status': arg, 'grpc-message': 'Received HTTP status code 503' },
      });
    case 'html-echo':
      // the credential it was sent, quoted back in the content-type
      return respond(stream, { headers: { 'content-type': `text/html; seen=${String(headers.authorization)}` }, body: Buffer.from('<html></html>') });
    case 'html-hold':
      stream.respond({ ':status': 200, 'content-type': 'text/html' });
      return;
    case 'http-error':
      // a proxy's error page while its upstream is down (nginx answers 502 text/html)
      return respond(stream, { headers: { ':status': Number(arg), 'content-type': 'text/html' }, body: Buffer.from('<html>bad gateway</html>') });
    case 'grpc-proto':
      return respond(stream, { headers: { 'content-type': 'application/grpc+proto' }, body: EMPTY_REPLY, trailers: { 'grpc-status': '0' } });
    default:
      return respond(stream, { body: EMPTY_REPLY, trailers: { 'grpc-status': '0' } });
  }
}

describe('a hostile server', () => {
  let server: HostileServer;
  let app: TestingModule;
  let noRetry: MeshClient;
  let retrying: MeshClient;
  let keepalive: MeshClient;

  const call = (client: MeshClient, name: string, arg = '', timeoutMs = 3000): Promise<MeshClientError> =>
    failureOf(lastValueFrom(client.unary('Unary', {}, { timeoutMs, metadata: { 'x-attack': name, 'x-arg': arg } })));

  beforeAll(async () => {
    register.clear();
    server = await new HostileServer(attack).start();
    app = await createTestApp({
      defaults: { breaker: false },
      clients: [
        echoClient(server.target, { name: 'plain', retry: false }),
        echoClient(server.target, { name: 'retrying', retry: { maxAttempts: 5, initialBackoffMs: 5, maxBackoffMs: 5, budget: false } }),
        // Node 20 drops such a connection without telling grpc-js: only keepalive pings notice it
        echoClient(server.target, { name: 'keepalive', retry: false, ...(NODE_MAJOR < 22 ? { keepalive: { timeMs: 1000, timeoutMs: 1000 } } : {}) }),
      ],
    });
    const registry = app.get(MeshClientRegistry);
    [noRetry, retrying, keepalive] = [registry.get('plain'), registry.get('retrying'), registry.get('keepalive')];
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
    register.clear();
  });

  it('cannot mint status codes or metric series: anything but decimal 0..16 is UNKNOWN, never NaN', async () => {
    for (const raw of ['abc', '99', '-1', '1.5', '17', '2147483648', 'NaN']) {
      const error = await call(noRetry, 'status', raw);
      expect(error).toMatchObject({ code: 2, codeName: 'UNKNOWN', category: 'unknown' });
      expect(error.details).toContain('unrecognised status code');
    }
    for (let i = 0; i < 300; i++) await call(noRetry, 'status', String(17 + Math.floor(Math.random() * 1e6))).catch(() => undefined);
    const codes = new Set(
      parseMetrics(await register.metrics())
        .filter((s) => s.name === 'grpc_client_handled_total')
        .map((s) => s.labels.grpc_code),
    );
    expect(codes.size).toBeLessThanOrEqual(17);
    expect([...codes].every((c) => /^[A-Z_]+$/.test(c!))).toBe(true);
  });

  it('cannot flood or inject error messages: at most 1 KiB of its text, control characters escaped; the raw text stays in details', async () => {
    const error = await call(noRetry, 'message');
    expect(error.details).toBe(decodeURI(encodeURIComponent(FLOOD))); // grpc-js decodes grpc-message with decodeURI
    expect(error.message.length).toBeLessThan(1400);
    expect([...error.message].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
    expect(error.message).toContain('line1\\r\\nInjected%3A yes\\u001b[31mred\\u0000');
    expect(error.message).toContain('more characters');
  });

  it('cannot make a retry wait past the timer limit: a pushback beyond 2^31-1 ms or the deadline means no retry', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const before = server.streams;
      const error = await call(retrying, 'pushback', '2500000000', 60_000);
      expect(error).toMatchObject({ category: 'unavailable', attempts: 1 });
      expect(server.streams - before).toBe(1);
      expect(await call(retrying, 'pushback', '20000', 1000)).toMatchObject({ attempts: 1 });
      await settle(); // Node emits its warnings on the next tick
      expect(warnings).not.toContain('TimeoutOverflowWarning');
    } finally {
      process.off('warning', onWarning);
    }
  });

  it.each(['-1', 'soon', '1.5', '1e3', ''])('malformed pushback %j stops retrying', async (value) => {
    expect(await call(retrying, 'pushback', value)).toMatchObject({ category: 'unavailable', attempts: 1 });
  });

  it.each(['huge-header', 'huge-trailer'])(
    'a %s of 100 KB drops the connection: its calls and unrelated ones fail unavailable within 2 s and are retried',
    async (kind) => {
      const started = Date.now();
      const streams = server.streams;
      const unrelated = call(keepalive, 'slow', '', 10_000);
      expect(await eventually(() => server.streams > streams, 2000)).toBe(true);
      const errors = await Promise.all([call(keepalive, kind, '', 10_000), call(keepalive, kind, '', 10_000), unrelated]);
      for (const error of errors) expect(error.category).toBe('unavailable');
      expect(Date.now() - started).toBeLessThan(2500);
      if (NODE_MAJOR >= 22) {
        const retried = await call(retrying, kind, '', 10_000);
        expect(retried).toMatchObject({ category: 'unavailable', attempts: 5 });
      }
    },
  );

  it.each([
    ['an HTML page (before: "larger than max", raise maxMessageBytes)', 'page'],
    ['a gRPC frame and an OK status under an HTML content-type (before: a success)', 'framed'],
  ])('is refused when it answers as no gRPC server does: %s', async (_what, arg) => {
    const error = await call(noRetry, 'html', arg);
    expect(error.category).toBe('unknown');
    expect(error.message).toContain("the peer is not a gRPC server: it answered with content-type 'text/html; charset=utf-8'");
    expect(error.message).not.toContain('maxMessageBytes');
  });

  it.each([
    ['502', 'unavailable', 5],
    ['503', 'unavailable', 5],
    ['404', 'unimplemented', 1],
  ])(
    "a proxy's HTML error page with HTTP status %s is that status, as grpc-js maps it (retried when UNAVAILABLE)",
    async (code, category, attempts) => {
      const error = await call(retrying, 'http-error', code);
      expect(error.category).toBe(category);
      expect(error.attempts).toBe(attempts);
      expect(error.details).toBe(`Received HTTP status code ${code}`);
    },
  );

  it('a 200 page cannot pass as an HTTP error status by its words (grpc-status 0 and grpc-message "Received HTTP status code 503")', async () => {
    const error = await call(noRetry, 'html-spoof', '0');
    expect(error.category).toBe('unknown');
    expect(error.message).toContain('the peer is not a gRPC server');
  });

  it('a content-type that quotes the credential the call sent has it masked in the error', async () => {
    const token = 'eyJhbGciOiJIUzI1NiJ9.echoed-in-content-type';
    const error = await failureOf(
      lastValueFrom(noRetry.unary('Unary', {}, { metadata: { 'x-attack': 'html-echo', authorization: `Bearer ${token}` } })),
    );
    expect(error.message).toContain("the peer is not a gRPC server: it answered with content-type 'text/html; seen=[token]'");
    expect(error.message).not.toContain(token);
  });

  it('a page that never ends fails at the deadline as any hanging call does: timeout, every time', async () => {
    for (let i = 0; i < 5; i++) expect((await call(noRetry, 'html-hold', '', 300)).category).toBe('timeout');
  });

  it('application/grpc+proto is a gRPC answer', async () => {
    await expect(lastValueFrom(noRetry.unary('Unary', {}, { metadata: { 'x-attack': 'grpc-proto' } }))).resolves.toBeDefined();
  });

  it('a declared-huge message is refused at once', async () => {
    const started = Date.now();
    expect(await call(noRetry, 'declared-huge')).toMatchObject({ category: 'resource-exhausted' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it.each(['truncated', 'compressed-unannounced'])('a %s message body fails the call with a clear error', async (kind) => {
    const error = await call(noRetry, kind);
    expect(['internal', 'unimplemented', 'unknown']).toContain(error.category);
    expect(error.details).not.toContain('undefined');
  });

  it('thousands of header keys: the call ends by its deadline, cleanly', async () => {
    const result = await lastValueFrom(noRetry.unary('Unary', {}, { timeoutMs: 3000, metadata: { 'x-attack': 'many-headers' } })).then(
      () => 'ok',
      (e: MeshClientError) => e.category,
    );
    expect(['ok', 'unavailable', 'internal', 'resource-exhausted']).toContain(result);
  });

  it('never answering: the call fails at its deadline, not later', async () => {
    const started = Date.now();
    expect(await call(noRetry, 'never', '', 300)).toMatchObject({ category: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('a GOAWAY and a refused stream instead of an answer: the call is retried and succeeds on a new connection', async () => {
    const before = server.streams;
    const reply = await lastValueFrom(retrying.unary('Unary', {}, { metadata: { 'x-attack': 'goaway-once', 'x-arg': 'g1' } }));
    expect(reply).toMatchObject({ message: '' });
    expect(server.streams - before).toBe(2);
  });

  it.each([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13])('RST_STREAM with code %i ends the call with a known status', async (code) => {
    const error = await call(noRetry, 'rst', String(code));
    expect(error.code).toBeGreaterThanOrEqual(0);
    expect(error.code).toBeLessThanOrEqual(16);
  });
});

describe('a peer that is not an HTTP/2 server', () => {
  it.each([
    ['accepts TCP and says nothing', (s: Socket) => void s],
    ['answers with garbage', (s: Socket) => s.end(randomBytes(4096))],
    ['answers with HTTP/1.1', (s: Socket) => s.end('HTTP/1.1 400 Bad Request\r\n\r\n')],
  ])('%s: the call fails unavailable within connectTimeoutMs', async (_what, onSocket) => {
    const peer = await new TcpPeer(onSocket).start();
    const app = await createTestApp({ clients: [echoClient(peer.target, { retry: false, connectTimeoutMs: 500 })] });
    const started = Date.now();
    const error = await failureOf(lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}, { timeoutMs: 5000 })));
    expect(error.category).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(1500);
    await app.close();
    await peer.stop();
  });
});
