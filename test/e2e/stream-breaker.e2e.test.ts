import type { TestingModule } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, type MeshClient } from '@datapunk/mesh-client';
import { messagesOf, settleOf, summary, useUncaughtCollector } from '../support/call-guards.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { createTestApp, echoClient } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

// A stream's first response answers for the server; how the stream ends later (its deadline, a
// slow reader) is not the server's health. Before, a watch bounded by its deadline counted as a
// server fault, and a long stream admitted as the half-open probe held the breaker for its life.
const uncaught = useUncaughtCollector();
const WATCHDOG_MS = 4000;
const ENDLESS = { message: 'w', count: -1 }; // a message every 10 ms until cancelled

describe('the circuit breaker and calls that stream responses', () => {
  let server: EchoServer;
  let app: TestingModule;
  let watch: MeshClient;

  beforeAll(async () => {
    server = await startEchoServer();
    const breaker = { consecutiveFailures: 2, openMs: 300, halfOpenMaxCalls: 1 };
    app = await createTestApp({
      clients: [
        echoClient(server.target, { name: 'watch', retry: false, breaker }),
        echoClient(server.target, { name: 'probe', retry: false, breaker }),
      ],
    });
    watch = app.get(MeshClientRegistry).get('watch');
    await lastValueFrom(watch.unary('Unary', {})); // connected: each watch's 300 ms are its own
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  it('watches that deliver, then reach their deadline, are no server fault: the breaker stays closed', async () => {
    for (let i = 0; i < 3; i++) {
      const settled = await settleOf(watch.serverStream('ServerStream', ENDLESS, { timeoutMs: 300 }), WATCHDOG_MS);
      expect(summary(settled)).toMatchObject({ kind: 'error', category: 'timeout' });
      expect(settled.values.length).toBeGreaterThan(0);
    }
    expect(watch.breakerState()).toBe('closed');
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });

  it('quiet watches (the server sent its headers, no message yet) that reach their deadline: the breaker stays closed', async () => {
    for (let i = 0; i < 3; i++) {
      const settled = await settleOf(watch.serverStream('ServerStream', {}, { timeoutMs: 200, metadata: { 'x-test-silent': '1' } }), WATCHDOG_MS);
      expect(summary(settled)).toMatchObject({ kind: 'error', category: 'timeout' });
    }
    expect(watch.breakerState()).toBe('closed');
  });

  it('a stream the server fails after its first response (UNAVAILABLE mid-stream) still counts: two open the breaker', async () => {
    const failing = { metadata: { 'x-test-status': '14' }, timeoutMs: 2000 };
    for (let i = 0; i < 2; i++) {
      const settled = await settleOf(watch.serverStream('ServerStream', { message: 'f', count: 1 }, failing), WATCHDOG_MS);
      expect(summary(settled)).toMatchObject({ kind: 'error', category: 'unavailable' });
      expect(settled.values).toHaveLength(1);
    }
    expect(watch.breakerState()).toBe('open');
  });

  it('a long, quiet stream admitted as the half-open probe closes the breaker with its headers', async () => {
    const client = app.get(MeshClientRegistry).get('probe');
    for (let i = 0; i < 2; i++) {
      const failed = await settleOf(client.unary('Unary', {}, { metadata: { 'x-test-status': '14' } }), WATCHDOG_MS);
      expect(summary(failed)).toMatchObject({ kind: 'error', category: 'unavailable' });
    }
    expect(client.breakerState()).toBe('open');
    expect(await eventually(() => client.breakerState() === 'half-open', 2000)).toBe(true);
    // a quiet watch let through as the probe: its headers answer it
    const probe = client
      .serverStream('ServerStream', {}, { timeoutMs: 10_000, metadata: { 'x-test-silent': '1' } })
      .subscribe({ error: () => undefined });
    try {
      expect(await eventually(() => client.breakerState() === 'closed', 2000)).toBe(true);
      const next = await settleOf(client.unary('Unary', { message: 'after the probe' }, { timeoutMs: 2000 }), WATCHDOG_MS);
      expect(summary(next)).toEqual({ kind: 'complete' });
    } finally {
      probe.unsubscribe();
    }
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });
});

describe("breakerState() with scope 'method'", () => {
  let server: EchoServer;
  let app: TestingModule;

  beforeAll(async () => {
    server = await startEchoServer();
    const breaker = { scope: 'method' as const, consecutiveFailures: 1, openMs: 60_000 };
    app = await createTestApp({ clients: [echoClient(server.target, { name: 'perMethod', retry: false, breaker })] });
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  it("reads a method by any of its names, and without one the worst (the health check's view)", async () => {
    const client = app.get(MeshClientRegistry).get('perMethod');
    const failed = await settleOf(client.unary('unary', {}, { metadata: { 'x-test-status': '14' } }), WATCHDOG_MS);
    expect(summary(failed)).toMatchObject({ kind: 'error', category: 'unavailable' });
    expect([client.breakerState('Unary'), client.breakerState('unary'), client.breakerState('ServerStream')]).toEqual(['open', 'open', 'closed']);
    expect(client.breakerState()).toBe('open');
    // a name no RPC has (a typo in a health check) is refused, never read as 'closed'
    expect(() => client.breakerState('Nope')).toThrow(
      /breakerState\(\): 'Nope' is not an RPC of mesh\.test\.Echo \(RPCs: Unary, ServerStream, ClientStream, Bidi\)/,
    );
  });
});
