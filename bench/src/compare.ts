import type { Contender } from './contenders.js';
import { median, timedRound, type RoundResult } from './measure.js';

/**
 * Runs `contenders` round by round, each round in a different order (rotated, and reversed every
 * other round) so that no contender always runs first or after the same one; a short warm-up each
 * first. `settle` runs before every round (garbage collected in client and server, so that no
 * round pays for the garbage of the one before). Returns every round of every contender.
 */
export async function alternate(
  contenders: readonly Contender[],
  concurrency: number,
  rounds: number,
  roundMs: number,
  settle: () => Promise<void>,
): Promise<Map<string, RoundResult[]>> {
  const results = new Map<string, RoundResult[]>(contenders.map((c) => [c.name, []]));
  for (const c of contenders) await timedRound(() => c.unary(), concurrency, 300);
  for (let r = 0; r < rounds; r++) {
    for (const c of orderOf(contenders, r)) {
      await settle();
      results.get(c.name)!.push(await timedRound(() => c.unary(), concurrency, roundMs));
    }
  }
  return results;
}

/** Round `r`'s order: rotated by r, reversed on odd rounds. */
export function orderOf<T>(items: readonly T[], r: number): T[] {
  const k = r % items.length;
  const rotated = [...items.slice(k), ...items.slice(0, k)];
  return r % 2 ? rotated.reverse() : rotated;
}

/** A ratio over rounds: the median of the per-round ratios, and their spread (min..max). */
export interface Ratio {
  median: number;
  min: number;
  max: number;
}

/** Per-round ratio of `key` between `rounds` and `base` (same rounds). */
export function ratioOf(rounds: readonly RoundResult[], base: readonly RoundResult[], key: keyof RoundResult): Ratio {
  const values = rounds.map((r, i) => r[key] / base[i]![key]);
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** The A/A control reads within this band, or the run's ratios are not quoted. */
export const AA_BAND = { low: 0.97, high: 1.03 } as const;

export const withinBand = (r: Ratio): boolean => r.median >= AA_BAND.low && r.median <= AA_BAND.high;
