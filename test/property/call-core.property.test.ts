import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compositions } from '../support/composition.js';
import { runComposition } from '../support/composition-run.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';

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
