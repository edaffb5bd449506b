import type { TestingModule } from '@nestjs/testing';
import { NEVER } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultInjectionPlugin, MeshClientRegistry, TokenPlugin, type MeshClient, type MeshClientPlugin } from '@datapunk/mesh-client';
import { messagesOf, settleOf, summary, useUncaughtCollector, type Settled } from '../support/call-guards.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { createTestApp, echoClient } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

// Issue #30 "calls hang past their deadline": on da6cde0 none of these settled in 4 s. Each call
// here has a watchdog (settleOf): a hang is reported as 'hung' and fails the test.
const uncaught = useUncaughtCollector();
const never = (): Promise<never> => new Promise<never>(() => undefined);
const WATCHDOG_MS = 4000;
/** A generous bound over a 500 ms deadline (2 cores, other suites running). */
const LATE_MS = 400;

/** A plugin hanging the calls marked `x-hang` in `hook` (any other call passes). */
const hangingOn = (hook: 'beforeAttempt' | 'afterAttempt'): MeshClientPlugin => ({
  name: `hang-${hook}`,
  [hook]: (attempt: { metadata: { get(key: string): unknown[] } }) => (attempt.metadata.get('x-hang').length > 0 ? never() : undefined),
});

describe('with timeoutMs 500 every call settles as timeout by its deadline', () => {
  let server: EchoServer;
  let app: TestingModule;
  const client = (name: string): MeshClient => app.get(MeshClientRegistry).get(name);

  beforeAll(async () => {
    server = await startEchoServer();
    const plain = { retry: false as const };
    app = await createTestApp({
      clients: [
        echoClient(server.target, { name: 'intercept', ...plain, plugins: [{ name: 'silent', intercept: () => NEVER }] }),
        echoClient(server.target, { name: 'before', ...plain, plugins: [{ name: 'slow-before', beforeAttempt: never }] }),
        echoClient(server.target, { name: 'after', ...plain, plugins: [{ name: 'slow-after', afterAttempt: never }] }),
        echoClient(server.target, { name: 'metadata', ...plain, metadata: never }),
      ],
    });
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  it.each([
    ['an intercept returning an Observable that never emits', 'intercept'],
    ['a beforeAttempt that never settles', 'before'],
    ['an afterAttempt that never settles', 'after'],
    ['an async client metadata function that never settles', 'metadata'],
  ])('%s', async (_what, name) => {
    const settled = await settleOf(client(name).unary('Unary', {}, { timeoutMs: 500 }), WATCHDOG_MS);
    expect(summary(settled)).toMatchObject({ kind: 'error', category: 'timeout' });
    expect(settled.ms).toBeLessThan(500 + LATE_MS);
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });
});

describe('shipped plugins end at the deadline', () => {
  let server: EchoServer;
  let app: TestingModule;
  let asked = 0;
  let askedSteady = 0;
  const client = (name: string): MeshClient => app.get(MeshClientRegistry).get(name);

  beforeAll(async () => {
    server = await startEchoServer({ requireToken: () => 'tok-good' });
    // a token source that hangs the first time it is asked, then answers
    const token = new TokenPlugin({ source: () => (++asked === 1 ? never() : 'tok-good') });
    const steady = new TokenPlugin({ name: 'token-steady', source: () => (++askedSteady === 1 ? never() : 'tok-good') });
    const faults = new FaultInjectionPlugin({ all: { delayMs: 4000, delayPercent: 100 }, seed: 7 });
    app = await createTestApp({
      clients: [
        echoClient(server.target, { name: 'token', retry: false, plugins: [token] }),
        echoClient(server.target, { name: 'token-steady', retry: false, plugins: [steady] }),
        echoClient(server.target, { name: 'faults', retry: false, plugins: [faults] }),
      ],
    });
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  it('TokenPlugin with a source that hangs once: that call times out, and a later call succeeds (the source is asked again)', async () => {
    const token = client('token');
    const hung = await settleOf(token.unary('Unary', {}, { timeoutMs: 500 }), WATCHDOG_MS);
    expect(summary(hung)).toMatchObject({ kind: 'error', category: 'timeout' });
    expect(hung.ms).toBeLessThan(500 + LATE_MS);
    const later = await settleOf(token.unary('Unary', { message: 'later' }, { timeoutMs: 2000 }), WATCHDOG_MS);
    expect(summary(later)).toEqual({ kind: 'complete' });
    expect(asked).toBe(2);
    expect(server.metadataSeen.at(-1)!.get('authorization')).toEqual(['Bearer tok-good']);
  });

  it('TokenPlugin with a source that hangs once, under steady traffic (a call every 200 ms, 500 ms each): the source is asked again and later calls succeed', async () => {
    const token = client('token-steady');
    const calls: Promise<Settled<unknown>>[] = [];
    for (let i = 0; i < 15; i++) {
      calls.push(settleOf(token.unary('Unary', {}, { timeoutMs: 500 }), WATCHDOG_MS));
      await new Promise((resolve) => setTimeout(resolve, 200)); // the pace of the traffic, not a wait for anything
    }
    const outcomes = (await Promise.all(calls)).map((o) => `${o.kind}${o.kind === 'error' ? ` ${String(summary(o).category)}` : ''}`);
    // the first call's fetch hangs; every call ends by its deadline; once the hung fetch is given up, the next asks again
    expect(outcomes.filter((o) => o !== 'complete' && o !== 'error timeout')).toEqual([]);
    expect(askedSteady).toBeGreaterThanOrEqual(2);
    expect(outcomes.at(-1)).toBe('complete');
  });

  it('FaultInjectionPlugin delayMs 4000 with timeoutMs 200: settles as timeout near 200 ms', async () => {
    const settled = await settleOf(client('faults').unary('Unary', {}, { timeoutMs: 200 }), WATCHDOG_MS);
    expect(summary(settled)).toMatchObject({ kind: 'error', category: 'timeout' });
    expect(settled.ms).toBeLessThan(200 + LATE_MS);
  });
});

describe('waits that hold a permit or a probe end at the deadline and give them back', () => {
  let server: EchoServer;
  let app: TestingModule;
  const client = (name: string): MeshClient => app.get(MeshClientRegistry).get(name);

  beforeAll(async () => {
    server = await startEchoServer();
    const limited = { retry: false as const, concurrency: { limit: 1 } };
    const breaker = { consecutiveFailures: 1, openMs: 300, halfOpenMaxCalls: 1 };
    app = await createTestApp({
      clients: [
        echoClient(server.target, { name: 'queue', ...limited }),
        echoClient(server.target, { name: 'hang-before', ...limited, plugins: [hangingOn('beforeAttempt')] }),
        echoClient(server.target, { name: 'hang-after', ...limited, plugins: [hangingOn('afterAttempt')] }),
        echoClient(server.target, { name: 'probe', retry: false, breaker, plugins: [hangingOn('beforeAttempt')] }),
      ],
    });
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  it("a queue wait ended by the deadline is 'timeout', not 'resource-exhausted'", async () => {
    const queue = client('queue');
    const before = server.calls.length;
    const holder = settleOf(queue.unary('Unary', {}, { metadata: { 'x-test-delay-ms': '1500' } }), WATCHDOG_MS);
    expect(await eventually(() => server.calls.length > before, 2000)).toBe(true);
    const waiting = await settleOf(queue.unary('Unary', {}, { timeoutMs: 300 }), WATCHDOG_MS);
    expect(summary(waiting)).toMatchObject({ kind: 'error', category: 'timeout' });
    expect(waiting.ms).toBeLessThan(300 + LATE_MS);
    expect(summary(await holder)).toEqual({ kind: 'complete' });
  });

  it.each([
    ['beforeAttempt', 'hang-before'],
    ['afterAttempt', 'hang-after'],
  ])('a call hung in %s gives its permit back at its deadline (limit 1: the next call gets it)', async (_hook, name) => {
    const echo = client(name);
    const hung = await settleOf(echo.unary('Unary', {}, { timeoutMs: 300, metadata: { 'x-hang': '1' } }), WATCHDOG_MS);
    expect(summary(hung)).toMatchObject({ kind: 'error', category: 'timeout' });
    expect(hung.ms).toBeLessThan(300 + LATE_MS);
    const next = await settleOf(echo.unary('Unary', { message: 'next' }, { timeoutMs: 2000 }), WATCHDOG_MS);
    expect(summary(next)).toEqual({ kind: 'complete' });
  });

  it('a half-open probe hung in beforeAttempt is given back at its deadline: the breaker can close again', async () => {
    const probe = client('probe');
    const failed = await settleOf(probe.unary('Unary', {}, { metadata: { 'x-test-status': '14' } }), WATCHDOG_MS);
    expect(summary(failed)).toMatchObject({ kind: 'error', category: 'unavailable' });
    expect(probe.breakerState()).toBe('open');
    expect(await eventually(() => probe.breakerState() === 'half-open', 2000)).toBe(true);
    const hung = await settleOf(probe.unary('Unary', {}, { timeoutMs: 300, metadata: { 'x-hang': '1' } }), WATCHDOG_MS);
    expect(summary(hung)).toMatchObject({ kind: 'error', category: 'timeout' });
    const next = await settleOf(probe.unary('Unary', { message: 'probe' }, { timeoutMs: 2000 }), WATCHDOG_MS);
    expect(summary(next)).toEqual({ kind: 'complete' });
    expect(probe.breakerState()).toBe('closed');
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });
});
