import type { TestingModule } from '@nestjs/testing';
import { Subject, firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, isMeshClientError, type MeshClient, type MeshClientError } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { createTestApp, echoClient } from '../support/test-app.js';

const failure = (p: Promise<unknown>): Promise<MeshClientError> =>
  p.then(
    () => {
      throw new Error('expected the call to fail');
    },
    (e: unknown) => {
      if (!isMeshClientError(e)) throw new Error(`expected a MeshClientError, got ${String(e)}`);
      return e;
    },
  );

describe('cancellation and deadlines', () => {
  let server: EchoServer;
  let app: TestingModule;
  let echo: MeshClient;

  beforeAll(async () => {
    server = await startEchoServer();
    app = await createTestApp({ clients: [echoClient(server.target, { methods: { ClientStream: { timeoutMs: 150 } } })] });
    echo = app.get(MeshClientRegistry).get('echo');
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  it('unsubscribing mid server-stream cancels the call on the server', async () => {
    const cancelled = server.nextCancellation();
    const first3 = await lastValueFrom(echo.serverStream<EchoRequest, EchoReply>('ServerStream', { count: -1 }).pipe(take(3), toArray()));
    expect(first3.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(await cancelled).toBe('ServerStream');
  });

  it('unsubscribing mid bidi-stream cancels the call on the server', async () => {
    const requests = new Subject<EchoRequest>();
    const cancelled = server.nextCancellation();
    const got = firstValueFrom(echo.bidiStream<EchoRequest, EchoReply>('Bidi', requests));
    setTimeout(() => requests.next({ message: 'one' }), 20);
    expect(await got).toMatchObject({ message: 'one' });
    expect(await cancelled).toBe('Bidi');
    expect(requests.observed).toBe(false);
  });

  it('an AbortSignal cancels the call and fails it with category cancelled', async () => {
    const controller = new AbortController();
    const cancelled = server.nextCancellation();
    const call = failure(lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-delay-ms': '5000' }, signal: controller.signal })));
    setTimeout(() => controller.abort(), 50);
    expect(await call).toMatchObject({ category: 'cancelled', codeName: 'CANCELLED' });
    expect(await cancelled).toBe('Unary');
  });

  it('a slow unary call with timeoutMs 200 fails with category timeout within 200-400 ms', async () => {
    const started = performance.now();
    const error = await failure(lastValueFrom(echo.unary('Unary', {}, { timeoutMs: 200, metadata: { 'x-test-delay-ms': '2000' } })));
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ category: 'timeout', codeName: 'DEADLINE_EXCEEDED', retryable: false, method: 'Unary' });
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(400);
  });

  it('a server stream past its deadline fails the same way, after the messages that made it', async () => {
    const seen: number[] = [];
    const started = performance.now();
    const error = await failure(
      new Promise((resolve, reject) =>
        echo.serverStream<EchoRequest, EchoReply>('ServerStream', { count: -1 }, { timeoutMs: 200 }).subscribe({ next: (r) => seen.push(r.index), error: reject, complete: () => resolve(undefined) }),
      ),
    );
    const elapsed = performance.now() - started;
    expect(error.category).toBe('timeout');
    expect(seen.length).toBeGreaterThan(3);
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(400);
  });

  it('an absolute deadline works, and a per-method timeoutMs applies to that method', async () => {
    const viaDate = await failure(lastValueFrom(echo.unary('Unary', {}, { deadline: new Date(Date.now() + 150), metadata: { 'x-test-delay-ms': '2000' } })));
    expect(viaDate.category).toBe('timeout');
    const started = performance.now();
    const viaMethod = await failure(lastValueFrom(echo.clientStream('ClientStream', new Subject())));
    expect(viaMethod.category).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(400);
  });

  it('refuses bad per-call deadline options with invalid-request, sending nothing', async () => {
    const before = server.calls.length;
    const error = await failure(lastValueFrom(echo.unary('Unary', {}, { timeoutMs: -5 })));
    expect(error).toMatchObject({ category: 'invalid-request', attempts: 0 });
    expect(error.message).toMatch(/CallOptions\.timeoutMs must be a finite number > 0, got -5/);
    expect(server.calls.length).toBe(before);
  });

  it('update() changes the timeout of calls started afterwards', async () => {
    echo.update({ timeoutMs: 100 });
    try {
      const error = await failure(lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-delay-ms': '1000' } })));
      expect(error.category).toBe('timeout');
    } finally {
      echo.update({ timeoutMs: 30_000 });
    }
    expect(() => echo.update({ timeoutMs: 0 })).toThrow(/update\(\) of client 'echo'\.timeoutMs must be a number > 0/);
  });
});
