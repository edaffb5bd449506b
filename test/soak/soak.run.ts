import { expect, it } from 'vitest';
import { runChaos } from '../support/chaos.js';

const minutes = Number(process.env.SOAK_MINUTES ?? 10);
const gc = (globalThis as { gc?: () => void }).gc;

async function sample(): Promise<{ heapMb: number; handles: number }> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setImmediate(r));
  }
  return { heapMb: process.memoryUsage().heapUsed / 2 ** 20, handles: process.getActiveResourcesInfo().length };
}

/**
 * Soak: chaos batches (mixed call kinds, steered failures, backend faults) back to back for
 * SOAK_MINUTES, heap after GC and active handles sampled every 10 s. Fails if the heap grows by more
 * than 10 MB after the warm-up, or the handles keep growing.
 */
it(
  `soak: ${String(minutes)} minutes of mixed load with faults`,
  async () => {
    expect(gc, 'run with --expose-gc').toBeTypeOf('function');
    const end = Date.now() + minutes * 60_000;
    const samples: { at: number; heapMb: number; handles: number }[] = [];
    let lastSample = 0;
    let batch = 0;
    while (Date.now() < end) {
      const result = await runChaos(500, 1000 + batch++, 32);
      expect(result.violations).toEqual([]);
      if (Date.now() - lastSample >= 10_000) {
        lastSample = Date.now();
        const s = await sample();
        samples.push({ at: Math.round((end - minutes * 60_000 - Date.now()) / -1000), ...s });
        console.info(`soak t=${String(samples.at(-1)!.at)}s heap ${s.heapMb.toFixed(1)} MB, handles ${String(s.handles)}, batches ${String(batch)}`);
      }
    }
    expect(samples.length).toBeGreaterThan(2);
    const warm = samples[Math.min(2, samples.length - 1)]!;
    const last = samples.at(-1)!;
    console.info(
      `soak: heap after warm-up ${warm.heapMb.toFixed(1)} MB, at the end ${last.heapMb.toFixed(1)} MB (${(last.heapMb - warm.heapMb).toFixed(1)} MB); handles ${String(warm.handles)} -> ${String(last.handles)}`,
    );
    expect(last.heapMb - warm.heapMb).toBeLessThan(10);
    expect(last.handles).toBeLessThanOrEqual(warm.handles + 2);
  },
  24 * 3_600_000,
);
