import { randomUUID } from 'node:crypto';
import { status } from '@grpc/grpc-js';
import type { TestingModule } from '@nestjs/testing';
import { from, lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, type MeshClient } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { failureOf } from '../support/errors.js';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { createTestApp, echoClient } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

const failTimes = (n: number, extra: Record<string, string> = {}) => ({
  metadata: { 'x-test-fail-times': String(n), 'x-test-call-id': randomUUID(), ...extra },
});

describe('retry against a real server', () => {
  let server: EchoServer;
  let app: TestingModule;
  let registry: MeshClientRegistry;

  beforeAll(async () => {
    server = await startEchoServer();
    const retry = { initialBackoffMs: 20, maxBackoffMs: 50, budget: false } as const;
    const fast = { initialBackoffMs: 1, maxBackoffMs: 1 };
    app = await createTestApp({
      defaults: { breaker: false },
      clients: [
        echoClient(server.target, { retry }),
        echoClient(server.target, { name: 'nobudget', retry: { ...fast, budget: false } }),
        echoClient(server.target, { name: 'budget', retry: fast }),
      ],
    });
    registry = app.get(MeshClientRegistry);
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });
  afterEach(() => {
    server.metadataSeen.length = 0;
    server.arrivals.length = 0;
  });

  const echo = (): MeshClient => registry.get('echo');

  it('fail twice then succeed: success after 3 attempts carrying grpc-previous-rpc-attempts 1 and 2', async () => {
    const res = await lastValueFrom(echo().unary<EchoRequest, EchoReply>('Unary', { message: 'r' }, failTimes(2)));
    expect(res.message).toBe('r');
    expect(server.metadataSeen).toHaveLength(3);
    expect(server.metadataSeen.map((m) => m.get('grpc-previous-rpc-attempts'))).toEqual([[], ['1'], ['2']]);
  });

  it('exact attempts on the final error: always failing stops after maxAttempts', async () => {
    const error = await failureOf(lastValueFrom(echo().unary('Unary', {}, failTimes(10))));
    expect(error).toMatchObject({ category: 'unavailable', attempts: 3 });
    expect(server.metadataSeen).toHaveLength(3);
  });

  it('INVALID_ARGUMENT is sent exactly once', async () => {
    const error = await failureOf(lastValueFrom(echo().unary('Unary', {}, failTimes(1, { 'x-test-status': String(status.INVALID_ARGUMENT) }))));
    expect(error).toMatchObject({ category: 'invalid-request', attempts: 1 });
    expect(server.metadataSeen).toHaveLength(1);
  });

  it('server pushback of 300 ms: the second attempt arrives 300 ms (+-100) after the first', async () => {
    await lastValueFrom(echo().unary('Unary', {}, failTimes(1, { 'x-test-pushback-ms': '300' })));
    expect(server.arrivals).toHaveLength(2);
    const gap = server.arrivals[1]! - server.arrivals[0]!;
    expect(gap).toBeGreaterThanOrEqual(200);
    expect(gap).toBeLessThanOrEqual(400);
  });

  it('a negative pushback means no retry', async () => {
    const error = await failureOf(lastValueFrom(echo().unary('Unary', {}, failTimes(1, { 'x-test-pushback-ms': '-1' }))));
    expect(error.attempts).toBe(1);
  });

  it('a server stream that fails after its first message is not retried', async () => {
    const seen: EchoReply[] = [];
    const error = await failureOf(
      new Promise((resolve, reject) =>
        echo()
          .serverStream<EchoRequest, EchoReply>('ServerStream', { count: 1 }, failTimes(5))
          .subscribe({ next: (v) => seen.push(v), error: reject, complete: () => resolve(undefined) }),
      ),
    );
    expect(seen).toHaveLength(1);
    expect(error).toMatchObject({ category: 'unavailable', attempts: 1 });
    expect(server.metadataSeen).toHaveLength(1);
  });

  it('a server stream failing before its first message is retried', async () => {
    const all = await lastValueFrom(echo().serverStream<EchoRequest, EchoReply>('ServerStream', { count: 0 }, failTimes(1)).pipe(toArray()));
    expect(all).toEqual([]);
    expect(server.metadataSeen).toHaveLength(2);
  });

  it('client-streaming requests are replayed whole to the retry', async () => {
    const res = await lastValueFrom(
      echo().clientStream<EchoRequest, EchoReply>('ClientStream', from([{ message: 'a' }, { message: 'b' }]), failTimes(1)),
    );
    expect(res).toMatchObject({ message: 'a,b', received: 2 });
    expect(server.metadataSeen).toHaveLength(2);
  });

  it('per-call retry: false sends once; per-call overrides are validated', async () => {
    const error = await failureOf(lastValueFrom(echo().unary('Unary', {}, { ...failTimes(1), retry: false })));
    expect(error.attempts).toBe(1);
    const bad = await failureOf(lastValueFrom(echo().unary('Unary', {}, { retry: { maxAttempts: 7 } })));
    expect(bad.category).toBe('invalid-request');
    expect(bad.message).toMatch(/CallOptions\.retry\.maxAttempts must be an integer 1\.\.5, got 7/);
  });

  it('1,000 calls against 30% UNAVAILABLE: budget off >= 99.9% succeed; budget on stays within the bucket', async () => {
    // A load-shedding backend: 30% of all requests (retries included) fail, spread evenly over
    // their arrival. Calls run one at a time. (With independent 30% failures 3 attempts could not
    // reach 99.9%: 1 - 0.3^3 = 97.3%.)
    const shed = { metadata: { 'x-test-fail-percent': '30' } };
    const run = async (client: string): Promise<{ ok: number; attempts: number }> => {
      let ok = 0;
      const before = server.metadataSeen.length;
      for (let i = 0; i < 1000; i++) {
        await lastValueFrom(registry.get(client).unary('Unary', {}, shed)).then(
          () => ok++,
          () => undefined,
        );
      }
      return { ok, attempts: server.metadataSeen.length - before };
    };
    const off = await run('nobudget');
    expect(off.ok).toBeGreaterThanOrEqual(999);
    const on = await run('budget');
    const retries = on.attempts - 1000;
    // Each retry needs the bucket above half after its failure: at most (10 - 5) + 0.1 per success.
    expect(retries).toBeLessThanOrEqual(5 + 0.1 * on.ok + 1);
    expect(retries).toBeGreaterThan(0);
    console.info(
      `30% UNAVAILABLE x 1000 calls: budget off ${String(off.ok / 10)}% ok (${String(off.attempts - 1000)} retries); budget on ${String(on.ok / 10)}% ok (${String(retries)} retries)`,
    );
  });
});

describe('circuit breaker against a real server', () => {
  let server: EchoServer;
  let app: TestingModule;
  let echo: MeshClient;

  beforeAll(async () => {
    server = await startEchoServer();
    app = await createTestApp({
      clients: [echoClient(server.target, { retry: false, breaker: { minimumCalls: 5, windowMs: 2_000, openMs: 400 } })],
    });
    echo = app.get(MeshClientRegistry).get('echo');
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  it('total outage: trips, fails fast with circuit-open without reaching the server, one probe closes it', async () => {
    server.outage = status.UNAVAILABLE;
    for (let i = 0; i < 5; i++) await failureOf(lastValueFrom(echo.unary('Unary', {})));
    expect(echo.breakerState()).toBe('open');
    const reached = server.calls.length;
    const started = performance.now();
    const rejected = await failureOf(lastValueFrom(echo.unary('Unary', {})));
    expect(performance.now() - started).toBeLessThan(50); // generous for a busy CI core; the server count below proves nothing was sent
    expect(rejected).toMatchObject({ category: 'circuit-open', attempts: 0, retryable: true });
    expect(rejected.stack?.split('\n')).toHaveLength(1); // a refusal captures no stack trace (its cost under overload)
    expect(server.calls.length).toBe(reached);

    server.outage = undefined;
    expect(await eventually(() => echo.breakerState() === 'half-open', 3000)).toBe(true);
    await lastValueFrom(echo.unary('Unary', { message: 'probe' }));
    expect(echo.breakerState()).toBe('closed');
    expect(server.calls.length).toBe(reached + 1);
  });

  it('client faults do not trip it', async () => {
    for (let i = 0; i < 10; i++) {
      await failureOf(lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-status': String(status.NOT_FOUND) } })));
    }
    expect(echo.breakerState()).toBe('closed');
  });
});

describe('update() mid-run', () => {
  it('changes policy for new calls while an in-flight call finishes under the old one', async () => {
    const server = await startEchoServer();
    const app = await createTestApp({ clients: [echoClient(server.target, { retry: { initialBackoffMs: 200, maxBackoffMs: 200, jitter: 0 } })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    try {
      const arrived = server.calls.length;
      const inflight = lastValueFrom(echo.unary('Unary', { message: 'old' }, failTimes(1)));
      expect(await eventually(() => server.calls.length > arrived, 2000)).toBe(true); // the first attempt is out: the call is in flight
      echo.update({ retry: false, timeoutMs: 5_000 });
      expect(await inflight).toMatchObject({ message: 'old' });
      const error = await failureOf(lastValueFrom(echo.unary('Unary', {}, failTimes(1))));
      expect(error.attempts).toBe(1);
      expect(() => echo.update({ retry: { maxAttempts: 0 } })).toThrow(/retry\.maxAttempts must be an integer 1\.\.5/);
      expect(() => echo.update({ methods: null as never })).toThrow(/update\(\) of client 'echo'\.methods must be an object/);
      const stillOff = await failureOf(lastValueFrom(echo.unary('Unary', {}, failTimes(1))));
      expect(stillOff.attempts).toBe(1);
    } finally {
      await app.close();
      await server.stop();
    }
  });
});
