import { randomUUID } from 'node:crypto';
import { Metadata } from '@grpc/grpc-js';
import { register } from 'prom-client';
import { lastValueFrom, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, type MeshClient } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { failureOf } from '../support/errors.js';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { createTestApp, echoClient, useEchoApp } from '../support/test-app.js';
import { eventually } from '../support/wait.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';

interface EchoService {
  unary(request: EchoRequest, options?: unknown): Observable<EchoReply>;
}

describe("the caller's own failures count for nothing against the server", () => {
  const fx = useEchoApp({
    maxMessageBytes: 1024,
    retry: {
      retryableCodes: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED', 'INVALID_ARGUMENT'],
      initialBackoffMs: 5,
      maxBackoffMs: 5,
      budget: { maxTokens: 4, tokenRatio: 0.1 },
    },
    breaker: { consecutiveFailures: 3 },
  });

  const cases: [string, (echo: MeshClient) => Observable<unknown>][] = [
    ['a request over maxMessageBytes', (echo) => echo.unary('Unary', { payload: Buffer.alloc(2048) })],
    ['a request that does not serialize (null)', (echo) => echo.unary('Unary', null)],
    ['a request with a wrong type', (echo) => echo.unary('Unary', { count: 'many' })],
    ['a number given to a client stream', (echo) => echo.clientStream('ClientStream', 42 as never)],
    ['a string given to a bidi stream', (echo) => echo.bidiStream('Bidi', 'abc' as never)],
  ];

  it.each(cases)('%s: invalid-request, not retryable, attempts 0, nothing sent', async (_what, call) => {
    const before = fx.server.calls.length;
    const error = await failureOf(lastValueFrom(call(fx.echo)));
    expect(error).toMatchObject({ category: 'invalid-request', retryable: false, attempts: 0, code: 3 });
    expect(error.message).toMatch(/\.$/);
    expect(fx.server.calls.length).toBe(before);
  });

  it('after all of them the breaker is closed and the retry budget full: a real failure is still retried', async () => {
    for (const [, call] of cases) await failureOf(lastValueFrom(call(fx.echo)));
    expect(fx.echo.breakerState()).toBe('closed');
    const id = randomUUID();
    const reply = await lastValueFrom(
      fx.echo.unary<EchoRequest, EchoReply>('Unary', { message: 'ok' }, { metadata: { 'x-test-fail-times': '1', 'x-test-call-id': id } }),
    );
    expect(reply.message).toBe('ok');
    expect(fx.server.calls.filter((c) => c === 'Unary').length).toBeGreaterThanOrEqual(2);
  });
});

describe('grpc-js Metadata', () => {
  const fx = useEchoApp({ retry: false });

  it("a getService() method's second argument may be a Metadata, as Nest's ClientGrpc and ts-proto pass it", async () => {
    const md = new Metadata();
    md.set('x-custom', 'from-metadata');
    md.set('x-test-echo-header', 'x-custom');
    const reply = await lastValueFrom(fx.echo.getService<EchoService>().unary({}, md));
    expect(reply.message).toBe('from-metadata');
  });

  it('CallOptions.metadata takes a Metadata, every value of a repeated key included', async () => {
    const md = new Metadata();
    md.add('x-multi', 'a');
    md.add('x-multi', 'b');
    md.set('x-trace-bin', Buffer.from([1, 2]));
    await lastValueFrom(fx.echo.unary('Unary', {}, { metadata: md }));
    const seen = fx.server.metadataSeen.at(-1)!;
    // HTTP/2 carries a repeated key as one header the server reads joined
    expect(seen.get('x-multi').join(', ')).toBe('a, b');
    expect(seen.get('x-trace-bin')).toEqual([Buffer.from([1, 2])]);
  });

  it.each([
    ['a string', 'abc', /CallOptions\.metadata must be a record of strings .* or a grpc-js Metadata, got a string\./],
    ['a Metadata with a reserved key', withEntry('grpc-foo', 'x'), /metadata key 'grpc-foo' is reserved/],
    ['a Metadata with a padded value', withEntry('x-pad', ' s3cret-value'), /metadata 'x-pad' has a value with leading or trailing spaces/],
  ])('refuses %s before sending, naming the key and never the value', async (_what, metadata, message) => {
    const before = fx.server.calls.length;
    const error = await failureOf(lastValueFrom(fx.echo.unary('Unary', {}, { metadata: metadata as never })));
    expect(error).toMatchObject({ category: 'invalid-request', attempts: 0 });
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain('s3cret');
    expect(fx.server.calls.length).toBe(before);
  });
});

function withEntry(key: string, value: string): Metadata {
  const md = new Metadata();
  md.set(key, value);
  return md;
}

describe('call options are checked as module options are', () => {
  const fx = useEchoApp({ retry: false });

  it.each([
    ['a typo', { timeout: 50 }, "CallOptions.timeout is not an option; did you mean 'timeoutMs'?"],
    ['a signal that is not one', { signal: 'nope' }, 'CallOptions.signal must be an AbortSignal, got a string.'],
    ['a timeout past the timer limit', { timeoutMs: 2 ** 31 }, 'CallOptions.timeoutMs must be a number > 0 and <= 2147483647, got 2147483648.'],
    ['a retry typo', { retry: { maxAttemps: 2 } }, "CallOptions.retry.maxAttemps is not an option (did you mean 'maxAttempts'?)"],
    ['a callback that is not one', { onTrailer: true }, 'CallOptions.onTrailer must be a function, got a boolean.'],
    ['not an object', 5, 'call options must be an object (CallOptions) or a grpc-js Metadata, got a number.'],
  ])('%s: invalid-request before sending', async (_what, options, message) => {
    const before = fx.server.calls.length;
    const error = await failureOf(lastValueFrom(fx.echo.unary('Unary', {}, options as never)));
    expect(error).toMatchObject({ category: 'invalid-request', attempts: 0, retryable: false });
    expect(error.message).toContain(message);
    expect(fx.server.calls.length).toBe(before);
  });
});

describe('attempts of cancelled calls count the attempts sent', () => {
  const fx = useEchoApp({ retry: { initialBackoffMs: 3000, maxBackoffMs: 3000, jitter: 0 } });

  it('an AbortSignal aborted after the call was sent: attempts 1', async () => {
    const controller = new AbortController();
    const arrived = new Promise((resolve) => fx.server.once('cancelled', resolve));
    const failure = failureOf(lastValueFrom(fx.echo.unary('Unary', {}, { signal: controller.signal, metadata: { 'x-test-delay-ms': '5000' } })));
    expect(await eventually(() => fx.server.calls.length > 0, 5000)).toBe(true);
    controller.abort();
    expect(await failure).toMatchObject({ category: 'cancelled', attempts: 1 });
    await arrived;
  });

  it('an AbortSignal aborted during a retry backoff: attempts 1', async () => {
    const controller = new AbortController();
    const before = fx.server.calls.length;
    const retries = async (): Promise<number> =>
      valueOf(parseMetrics(await register.metrics()), 'mesh_client_retries_total', {
        mesh_client: 'echo',
        grpc_method: 'Unary',
        grpc_code: 'UNAVAILABLE',
      });
    const retried = await retries();
    const options = { signal: controller.signal, metadata: { 'x-test-status': '14' }, retry: { initialBackoffMs: 10_000, maxBackoffMs: 10_000 } };
    const failure = failureOf(lastValueFrom(fx.echo.unary('Unary', {}, options)));
    expect(await eventually(() => fx.server.calls.length > before, 5000)).toBe(true);
    expect(await eventually(async () => (await retries()) > retried, 5000)).toBe(true); // the first attempt failed: waiting its backoff
    controller.abort();
    expect(await failure).toMatchObject({ category: 'cancelled', attempts: 1 });
  });

  it('a call cancelled by the shutdown drain: attempts 1', async () => {
    const server = await startEchoServer();
    const app = await createTestApp({ clients: [echoClient(server.target, { drainTimeoutMs: 20, retry: false })] });
    const failure = failureOf(
      lastValueFrom(
        app
          .get(MeshClientRegistry)
          .get('echo')
          .unary('Unary', {}, { metadata: { 'x-test-delay-ms': '5000' } }),
      ),
    );
    expect(await eventually(() => server.calls.length > 0, 5000)).toBe(true);
    await app.close();
    expect(await failure).toMatchObject({ category: 'cancelled', attempts: 1 });
    await server.stop();
  });
});

describe('a server stream under the same rules', () => {
  let server: EchoServer;
  beforeAll(async () => {
    server = await startEchoServer();
  });
  afterAll(() => server.stop());

  it('a server-stream request that does not fit its message is refused before sending', async () => {
    const app = await createTestApp({ clients: [echoClient(server.target)] });
    const error = await failureOf(lastValueFrom(app.get(MeshClientRegistry).get('echo').serverStream('ServerStream', { count: 2, reply_bytes: 1 })));
    expect(error.details).toBe("'reply_bytes' is not a field of mesh.test.EchoRequest; did you mean 'replyBytes'?");
    expect(server.calls).toEqual([]);
    await app.close();
  });
});
