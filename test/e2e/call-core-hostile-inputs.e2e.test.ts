import { lastValueFrom, Subject } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, type MeshClient } from '@datapunk/mesh-client';
import type { TestingModule } from '@nestjs/testing';
import { messagesOf, settleOf, settlePromise, summary, useUncaughtCollector } from '../support/call-guards.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import type { EchoReply } from '../support/protos.js';
import { createTestApp, echoClient } from '../support/test-app.js';

// What a hostile review of the new call core found (inputs from the caller), each a test.
const uncaught = useUncaughtCollector();
const WATCHDOG_MS = 3000;

/** A timer that must fire while a call runs: the event loop was not starved. */
function ticks(ms: number): { readonly fired: boolean } {
  const state = { fired: false };
  setTimeout(() => (state.fired = true), ms);
  return state;
}

describe('hostile inputs from the caller', () => {
  let server: EchoServer;
  let app: TestingModule;
  let echo: MeshClient;
  let asyncGetter: MeshClient;
  let retrying: MeshClient;

  beforeAll(async () => {
    server = await startEchoServer();
    app = await createTestApp({
      clients: [
        echoClient(server.target, { retry: false, concurrency: { limit: 2, maxQueue: 10 } }),
        echoClient(server.target, {
          name: 'async-getter',
          metadata: async () =>
            ({
              get 'x-tenant'(): string {
                throw new Error('tenant lookup failed');
              },
            }) as Record<string, string>,
        }),
        echoClient(server.target, { name: 'retrying', retry: { maxAttempts: 3, initialBackoffMs: 300, maxBackoffMs: 300, jitter: 0 } }),
      ],
    });
    const registry = app.get(MeshClientRegistry);
    [echo, asyncGetter, retrying] = [registry.get('echo'), registry.get('async-getter'), registry.get('retrying')];
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  it('an async metadata function whose entries throw while read: a MeshClientError, nothing uncaught', async () => {
    const settled = await settleOf(asyncGetter.unary('Unary', {}), WATCHDOG_MS);
    expect(summary(settled)).toMatchObject({ kind: 'error', category: 'invalid-request' });
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });

  it('a signal-like object without removeEventListener is refused; a signal firing inside addEventListener ends the call and leaves nothing in flight', async () => {
    const fake = { aborted: false, addEventListener: () => undefined };
    expect(summary(await settleOf(echo.unary('Unary', {}, { signal: fake as never }), WATCHDOG_MS))).toMatchObject({ category: 'invalid-request' });
    const eager = { aborted: false, addEventListener: (_: string, listener: () => void) => listener(), removeEventListener: () => undefined };
    expect(summary(await settleOf(echo.unary('Unary', {}, { signal: eager as never }), WATCHDOG_MS))).toMatchObject({ category: 'cancelled' });
    expect(echo.inflight).toBe(0);
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });

  it('options read once: a getter answering one value to the check and another later, a Date subclass lying about its time', async () => {
    let reads = 0;
    const flipping = {
      get timeoutMs(): unknown {
        return reads++ === 0 ? 300 : '300';
      },
    };
    expect(summary(await settleOf(echo.unary('Unary', {}, flipping as never), WATCHDOG_MS))).toEqual({ kind: 'complete' });
    class ShiftyDate extends Date {
      override getTime(): number {
        return 8.64e15;
      }
    }
    const shifty = new ShiftyDate(Date.now() + 500);
    expect(summary(await settleOf(echo.unary('Unary', {}, { deadline: shifty }), WATCHDOG_MS))).toEqual({ kind: 'complete' });
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });

  function* endlessSync(): Iterable<{ message: string }> {
    for (let i = 0; ; i++) yield { message: String(i) };
  }
  /** Answers every read in a microtask: no macrotask ever comes between its messages. */
  async function* endlessAsync(): AsyncIterable<{ message: string }> {
    for (let i = 0; ; i++) yield { message: String(i) };
  }

  it.each([
    ['synchronous iterable', endlessSync],
    ['AsyncIterable answering in microtasks', endlessAsync],
  ])('an endless %s as a request stream: read as the wire takes it, the event loop runs, the call ends by its deadline', async (_what, endless) => {
    const loop = ticks(100);
    const settled = await settleOf(echo.clientStream('ClientStream', endless(), { timeoutMs: 500 }), WATCHDOG_MS);
    expect(summary(settled)).toMatchObject({ kind: 'error', category: 'timeout' });
    expect(settled.ms).toBeLessThan(500 + 400);
    expect(loop.fired).toBe(true);
  });

  it('a request stream that pushes past the replay buffer while a retry waits: the retry sends all of it, nothing is lost', async () => {
    const requests = new Subject<{ message: string }>();
    const id = `overflow-${String(Date.now())}`;
    const call = settleOf(
      retrying.clientStream<unknown, EchoReply>('ClientStream', requests, {
        metadata: { 'x-test-fail-times': '1', 'x-test-call-id': id },
        timeoutMs: 5000,
      }),
      8000,
    );
    for (let i = 0; i < 10; i++) requests.next({ message: String(i) });
    requests.complete();
    const settled = await call;
    expect(summary(settled)).toEqual({ kind: 'complete' });
    expect((settled.values[0] as EchoReply).received).toBe(10);
    // a hot stream that keeps pushing while the retry waits: 300 more, past the 256 kept
    const hot = new Subject<{ message: string }>();
    const id2 = `${id}-2`;
    const second = settleOf(
      retrying.clientStream<unknown, EchoReply>('ClientStream', hot, {
        metadata: { 'x-test-fail-times': '1', 'x-test-call-id': id2 },
        timeoutMs: 5000,
      }),
      8000,
    );
    for (let i = 0; i < 10; i++) hot.next({ message: String(i) });
    await new Promise((resolve) => setTimeout(resolve, 100));
    for (let i = 10; i < 310; i++) hot.next({ message: String(i) });
    hot.complete();
    const outcome = await second;
    // either every message reached the server, or the call failed: never a success with messages lost
    if (outcome.kind === 'complete') expect((outcome.values[0] as EchoReply).received).toBe(310);
    else expect(summary(outcome)).toMatchObject({ kind: 'error' });
  });

  it('HTTP/2 connection headers as metadata: invalid-request, nothing sent, the breaker untouched', async () => {
    const before = server.calls.length;
    for (const key of ['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'te', 'content-length']) {
      const settled = await settleOf(echo.unary('Unary', {}, { metadata: { [key]: 'x' } }), WATCHDOG_MS);
      expect(summary(settled)).toMatchObject({ category: 'invalid-request' });
      expect(summary(settled).message).toContain(`'${key}'`);
    }
    expect(server.calls.length).toBe(before);
    expect(echo.breakerState()).toBe('closed');
  });

  it('iterate(): next() after return() starts no call and holds no permit', async () => {
    const before = server.calls.length;
    const iterator = echo.iterate('ServerStream', { count: -1 })[Symbol.asyncIterator]();
    await iterator.return!();
    expect(await iterator.next()).toEqual({ value: undefined, done: true });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(server.calls.length).toBe(before);
    expect(echo.concurrency).toMatchObject({ active: 0, waiting: 0 });
  });

  it('checkHealth() with a service name that cannot be sent, getService() options that throw while probed: MeshClientErrors, never a throw', async () => {
    const health = await settlePromise(echo.checkHealth('x'.repeat(5_000_000)), WATCHDOG_MS);
    expect(summary(health)).toMatchObject({ kind: 'error', category: 'invalid-request' });
    const hostile = new Proxy(
      {},
      {
        ownKeys: () => {
          throw new Error('proxy read');
        },
        get: () => {
          throw new Error('proxy read');
        },
      },
    );
    const unary = (echo.getService() as { unary(r: unknown, o: unknown): ReturnType<MeshClient['unary']> }).unary;
    const settled = await settleOf(unary({}, hostile), WATCHDOG_MS);
    expect(summary(settled)).toMatchObject({ kind: 'error', category: 'invalid-request' });
    await lastValueFrom(echo.unary('Unary', {}));
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });
});
