import type { TestingModule } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, type MeshClient } from '@datapunk/mesh-client';
import { messagesOf, settleOf, summary, useUncaughtCollector, type Settled } from '../support/call-guards.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { createTestApp, echoClient } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

// Issue #30 "unbounded memory": on da6cde0, with every permit held by long streams, 20,000 calls
// timed out in the queue with 20 KB requests kept 20,000 entries (maxQueue 1000): 22 MB -> 471 MB.
const uncaught = useUncaughtCollector();
const MB = 1024 * 1024;

const memoryAfterGc = (): number => {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc (vitest.config.ts execArgv)');
  gc();
  gc();
  // requests and their encodings live partly outside the JS heap (Buffers): count both
  const { heapUsed, arrayBuffers } = process.memoryUsage();
  return heapUsed + arrayBuffers;
};

describe('the concurrency queue holds only the calls still waiting', () => {
  let server: EchoServer;
  let app: TestingModule;
  let echo: MeshClient;

  beforeAll(async () => {
    server = await startEchoServer();
    app = await createTestApp({
      clients: [echoClient(server.target, { retry: false, breaker: false, concurrency: { limit: 2, maxQueue: 1000 } })],
    });
    echo = app.get(MeshClientRegistry).get('echo');
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  it('every permit held by long streams: 20,000 calls with 20 KB requests time out in the queue; it never holds more than maxQueue and the heap stays flat', async () => {
    const before = server.calls.length;
    // two endless server streams take both permits
    const streams = [1, 2].map(() => echo.serverStream('ServerStream', { count: -1 }, { timeoutMs: 120_000 }).subscribe({ error: () => undefined }));
    expect(await eventually(() => server.calls.length - before === 2, 3000)).toBe(true);
    const heapBefore = memoryAfterGc();
    let mostWaiting = 0;
    const categories = new Map<string, number>();
    try {
      // 1,000 at a time: the queue has room for each, and each call times out there (a function
      // of its own, so that nothing of the last batch stays in this frame when the heap is read)
      const batch = async (n: number): Promise<void> => {
        const calls: Promise<Settled<unknown>>[] = [];
        for (let i = 0; i < 1000; i++) {
          const request = { message: `${String(n * 1000 + i)}:${'x'.repeat(10 * 1024)}`, payload: Buffer.alloc(10 * 1024, i % 251) };
          calls.push(settleOf(echo.unary('Unary', request, { timeoutMs: 50 }), 5000));
        }
        mostWaiting = Math.max(mostWaiting, echo.concurrency!.waiting);
        for (const o of await Promise.all(calls)) {
          const key = `${o.kind} ${String(summary(o).category)}`;
          categories.set(key, (categories.get(key) ?? 0) + 1);
        }
        mostWaiting = Math.max(mostWaiting, echo.concurrency!.waiting);
      };
      for (let n = 0; n < 20; n++) await batch(n);
      const heapAfter = memoryAfterGc();
      const grew = (heapAfter - heapBefore) / MB;
      console.log(
        `queue: 20,000 timed-out 20 KB calls, heap + array buffers ${(heapBefore / MB).toFixed(1)} MB -> ${(heapAfter / MB).toFixed(1)} MB (+${grew.toFixed(1)} MB), most waiting ${String(mostWaiting)}`,
      );
      expect(Object.fromEntries(categories)).toEqual({ 'error timeout': 20_000 });
      expect(mostWaiting).toBeLessThanOrEqual(1000);
      expect(echo.concurrency!.waiting).toBe(0);
      // nothing of the calls that left stays: one batch still queued would be 1,000 x 20 KB (20 MB)
      expect(grew).toBeLessThan(10);
      expect(server.calls.length - before).toBe(2);
    } finally {
      for (const s of streams) s.unsubscribe();
    }
    // the streams gave their permits back: the queue is empty and calls flow again
    const next = await settleOf(echo.unary('Unary', {}, { timeoutMs: 3000 }), 5000);
    expect(summary(next)).toEqual({ kind: 'complete' });
    expect(echo.concurrency!.active).toBe(0);
    expect(messagesOf(uncaught.errors)).toEqual([]);
  }, 120_000);
});
