import { Subject, firstValueFrom, lastValueFrom, take, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { failureOf } from '../support/errors.js';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { useEchoApp } from '../support/test-app.js';

describe('cancellation and deadlines', () => {
  const fx = useEchoApp({ methods: { ClientStream: { timeoutMs: 150 } } });

  it('unsubscribing mid server-stream cancels the call on the server', async () => {
    const cancelled = fx.server.nextCancellation();
    const first3 = await lastValueFrom(fx.echo.serverStream<EchoRequest, EchoReply>('ServerStream', { count: -1 }).pipe(take(3), toArray()));
    expect(first3.map((r) => r.index)).toEqual([0, 1, 2]);
    expect(await cancelled).toBe('ServerStream');
  });

  it('unsubscribing mid bidi-stream cancels the call on the server', async () => {
    const requests = new Subject<EchoRequest>();
    const cancelled = fx.server.nextCancellation();
    const got = firstValueFrom(fx.echo.bidiStream<EchoRequest, EchoReply>('Bidi', requests));
    setTimeout(() => requests.next({ message: 'one' }), 20);
    expect(await got).toMatchObject({ message: 'one' });
    expect(await cancelled).toBe('Bidi');
    expect(requests.observed).toBe(false);
  });

  it('an AbortSignal cancels the call and fails it with category cancelled', async () => {
    const controller = new AbortController();
    const cancelled = fx.server.nextCancellation();
    const call = failureOf(lastValueFrom(fx.echo.unary('Unary', {}, { metadata: { 'x-test-delay-ms': '5000' }, signal: controller.signal })));
    setTimeout(() => controller.abort(), 50);
    expect(await call).toMatchObject({ category: 'cancelled', codeName: 'CANCELLED' });
    expect(await cancelled).toBe('Unary');
  });

  it('a slow unary call with timeoutMs 200 fails with category timeout within 200-400 ms', async () => {
    const started = performance.now();
    const error = await failureOf(lastValueFrom(fx.echo.unary('Unary', {}, { timeoutMs: 200, metadata: { 'x-test-delay-ms': '2000' } })));
    const elapsed = performance.now() - started;
    expect(error).toMatchObject({ category: 'timeout', codeName: 'DEADLINE_EXCEEDED', retryable: false, method: 'Unary' });
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(400);
  });

  it('a server stream past its deadline fails the same way, after the messages that made it', async () => {
    const seen: number[] = [];
    const started = performance.now();
    const error = await failureOf(
      new Promise((resolve, reject) =>
        fx.echo
          .serverStream<EchoRequest, EchoReply>('ServerStream', { count: -1 }, { timeoutMs: 200 })
          .subscribe({ next: (r) => seen.push(r.index), error: reject, complete: () => resolve(undefined) }),
      ),
    );
    const elapsed = performance.now() - started;
    expect(error.category).toBe('timeout');
    expect(seen.length).toBeGreaterThan(3);
    expect(elapsed).toBeGreaterThanOrEqual(195);
    expect(elapsed).toBeLessThan(400);
  });

  it('an absolute deadline works, and a per-method timeoutMs applies to that method', async () => {
    const viaDate = await failureOf(
      lastValueFrom(fx.echo.unary('Unary', {}, { deadline: new Date(Date.now() + 150), metadata: { 'x-test-delay-ms': '2000' } })),
    );
    expect(viaDate.category).toBe('timeout');
    const started = performance.now();
    const viaMethod = await failureOf(lastValueFrom(fx.echo.clientStream('ClientStream', new Subject())));
    expect(viaMethod.category).toBe('timeout');
    expect(performance.now() - started).toBeLessThan(400);
  });

  it('refuses bad per-call deadline options with invalid-request, sending nothing', async () => {
    const before = fx.server.calls.length;
    const error = await failureOf(lastValueFrom(fx.echo.unary('Unary', {}, { timeoutMs: -5 })));
    expect(error).toMatchObject({ category: 'invalid-request', attempts: 0 });
    expect(error.message).toMatch(/CallOptions\.timeoutMs must be a number > 0 and <= 2147483647, got -5\./);
    expect(fx.server.calls.length).toBe(before);
  });

  it('update() changes the timeout of calls started afterwards', async () => {
    fx.echo.update({ timeoutMs: 100 });
    try {
      const error = await failureOf(lastValueFrom(fx.echo.unary('Unary', {}, { metadata: { 'x-test-delay-ms': '1000' } })));
      expect(error.category).toBe('timeout');
    } finally {
      fx.echo.update({ timeoutMs: 30_000 });
    }
    expect(() => fx.echo.update({ timeoutMs: 0 })).toThrow(/update\(\) of client 'echo'\.timeoutMs must be a number > 0/);
  });
});
