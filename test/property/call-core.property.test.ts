import fc from 'fast-check';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry } from '@datapunk/mesh-client';
import { compositionPlugin, compositions } from '../support/composition.js';
import { runComposition } from '../support/composition-run.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { createTestApp, echoClient } from '../support/test-app.js';

/** Runs and seed: bounded for CI, longer through `npm run chaos -- --compositions N`. */
const RUNS = Number(process.env.COMPOSITION_RUNS ?? 12);
const SEED = Number(process.env.COMPOSITION_SEED ?? 20_261_205);

describe('the call core under any composition of features (fast-check, seeded)', () => {
  let server: EchoServer;
  const unhandled: unknown[] = [];
  const collect = (e: unknown): void => void unhandled.push(e);
  beforeAll(async () => {
    server = await startEchoServer();
    process.on('unhandledRejection', collect);
    process.on('uncaughtException', collect);
  });
  afterAll(async () => {
    process.off('unhandledRejection', collect);
    process.off('uncaughtException', collect);
    await server.stop();
  });

  it(`retry or hedging, breaker, limits with queues, plugins that throw, hang, delay, replay or mutate, async metadata, cancellations, faults and stalls, every call kind and iterate(): every call settles by its deadline + 100 ms, nothing leaks (${String(RUNS)} runs, seed ${String(SEED)})`, async () => {
    const summary: string[] = [];
    await fc.assert(
      fc.asyncProperty(compositions(24), async (composition) => {
        const result = await runComposition(composition, server.target);
        summary.push(`${JSON.stringify(result.outcomes)} hooks ${String(result.counts.before)}/${String(result.counts.after)}`);
        expect(result.violations).toEqual([]);
      }),
      { numRuns: RUNS, seed: SEED, endOnFailure: true },
    );
    console.info(`compositions: ${String(RUNS)} runs\n${summary.join('\n')}`);
    expect(unhandled.map(String)).toEqual([]);
  }, 240_000);
});

describe('the call core holds no memory per call', () => {
  const CALLS = Number(process.env.COMPOSITION_HEAP_CALLS ?? 20_000);

  it(`heap flat over ${String(CALLS)} calls through every feature (retry, breaker, limit and queue, plugins, failures, cancellations)`, async () => {
    const server = await startEchoServer({ forgetful: true });
    const hooks = { before: 0, after: 0 };
    const plugins = (['delay-before', 'fault', 'replay', 'mutate', 'intercept-map'] as const).map((b, i) => compositionPlugin(i, b, 0.05, 7, hooks));
    const app = await createTestApp({
      plugins,
      clients: [
        echoClient(server.target, {
          retry: { initialBackoffMs: 1, maxBackoffMs: 2 },
          breaker: { minimumCalls: 1000, failureRateThreshold: 0.9 },
          concurrency: { limit: 16, maxQueue: 1000 },
          metadata: async () => ({ 'x-composed-md': 'async' }),
        }),
      ],
    });
    const client = app.get(MeshClientRegistry).get('echo');
    const one = async (i: number): Promise<void> => {
      const metadata: Record<string, string> = i % 10 === 0 ? { 'x-test-status': '5' } : {};
      const call$ =
        i % 4 === 0
          ? client.serverStream('ServerStream', { message: 'm', count: 2 }, { metadata })
          : client.unary('Unary', { message: 'm' }, { metadata });
      if (i % 50 === 0) return void call$.subscribe({ error: () => undefined }).unsubscribe();
      await lastValueFrom(call$).catch(() => undefined);
    };
    const batch = async (from: number, to: number): Promise<void> => {
      let next = from;
      await Promise.all(
        Array.from({ length: 64 }, async () => {
          while (next < to) await one(next++);
        }),
      );
    };
    const heap = (): number => {
      global.gc!();
      return process.memoryUsage().heapUsed;
    };
    try {
      await batch(0, 2_000);
      const before = heap();
      await batch(2_000, CALLS);
      const growth = (heap() - before) / 2 ** 20;
      console.info(`heap: ${growth.toFixed(2)} MB over ${String(CALLS - 2_000)} calls; hooks ${String(hooks.before)}/${String(hooks.after)}`);
      expect(growth).toBeLessThan(5);
      expect(hooks.after).toBe(hooks.before);
      expect(client.concurrency).toMatchObject({ active: 0, waiting: 0 });
    } finally {
      await app.close();
      await server.stop();
    }
  }, 240_000);
});
