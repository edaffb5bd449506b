import type { Contender } from './contenders.js';
import { Tally, median, timedRound, type RoundResult } from './measure.js';

/** A contender's rounds and, round by round, the base measured in the same blocks. */
export interface Paired {
  readonly rounds: RoundResult[];
  readonly base: RoundResult[];
}

/**
 * Runs each contender against the base (the first of `contenders`), round by round. A round is a
 * block per contender, the contenders in a different order each round (rotated, reversed every
 * other round); a block is four slices of `roundMs / 2`, base and contender in the order A B B A
 * (B A A B every other round), so that a drift of the machine's speed during a block falls on both
 * alike. `settle` runs before every slice (garbage collected in client and server, so that no
 * slice pays for the garbage of the one before). A short warm-up of each contender first. The
 * base's own rounds are all its slices of the round.
 */
export async function alternate(
  contenders: readonly Contender[],
  concurrency: number,
  rounds: number,
  roundMs: number,
  settle: () => Promise<void>,
): Promise<Map<string, Paired>> {
  const [base, ...others] = contenders as [Contender, ...Contender[]];
  const results = new Map<string, Paired>(contenders.map((c) => [c.name, { rounds: [], base: [] }]));
  for (const c of contenders) await timedRound(() => c.unary(), concurrency, 300);
  for (let r = 0; r < rounds; r++) {
    const baseRound = new Tally();
    for (const c of orderOf(others, r)) {
      const [mine, theirs] = await block(base, c, r % 2 === 1, concurrency, roundMs / 2, settle);
      results.get(c.name)!.rounds.push(mine.result());
      results.get(c.name)!.base.push(theirs.result());
      baseRound.absorb(theirs);
    }
    const own = baseRound.result();
    results.get(base.name)!.rounds.push(own);
    results.get(base.name)!.base.push(own);
  }
  return results;
}

/** One block: `c` and `base` in slices A B B A (B A A B when `flipped`); returns c's tally and base's. */
async function block(
  base: Contender,
  c: Contender,
  flipped: boolean,
  concurrency: number,
  sliceMs: number,
  settle: () => Promise<void>,
): Promise<[Tally, Tally]> {
  const mine = new Tally();
  const theirs = new Tally();
  for (const x of flipped ? [c, base, base, c] : [base, c, c, base]) {
    await settle();
    await timedRound(() => x.unary(), concurrency, sliceMs, x === base ? theirs : mine);
  }
  return [mine, theirs];
}

/**
 * Round `r`'s order: rotated by r / 2 (rounded down), reversed on odd rounds, so that each item
 * takes every position equally often. (Rotated by r and reversed on odd rounds, two items kept
 * the same order in every round: the second round's rotation was undone by its reversal.)
 */
export function orderOf<T>(items: readonly T[], r: number): T[] {
  if (items.length === 0) return [];
  const k = Math.floor(r / 2) % items.length;
  const rotated = [...items.slice(k), ...items.slice(0, k)];
  return r % 2 ? rotated.reverse() : rotated;
}

/** The A/A control reads within this band, or the run's ratios are not quoted. */
export const AA_BAND = { low: 0.97, high: 1.03 } as const;

/** A ratio over rounds: the median of the per-round ratios, and their spread (min..max). */
export interface Ratio {
  median: number;
  min: number;
  max: number;
  /** A 95% interval of the median (distribution-free, from order statistics); absent under 6 rounds. */
  ci?: [number, number];
}

/**
 * The distribution-free interval of the median of `sorted` (ascending) at 95% or more: the values
 * of ranks k and n + 1 - k, k the largest rank with P(Binomial(n, 1/2) < k) <= 2.5%.
 */
export function medianInterval(sorted: readonly number[]): [number, number] | undefined {
  const n = sorted.length;
  let pmf = 0.5 ** n;
  let cdf = 0;
  let k = 0;
  for (let j = 0; j < n / 2; j++) {
    cdf += pmf;
    if (2 * cdf > 0.05) break;
    k = j + 1;
    pmf = (pmf * (n - j)) / (j + 1);
  }
  return k === 0 ? undefined : [sorted[k - 1]!, sorted[n - k]!];
}

const summary = (values: number[]): Ratio => {
  const sorted = [...values].sort((a, b) => a - b);
  const ci = medianInterval(sorted);
  return { median: median(values), min: sorted[0]!, max: sorted.at(-1)!, ...(ci && { ci }) };
};

/**
 * About how many rounds would make the median's 95% interval as narrow as the A/A band (±3%), at
 * the noise `q` was measured with (the interval narrows as the square root of the rounds).
 */
export function roundsForBand(q: Ratio, rounds: number): number | undefined {
  if (!q.ci) return undefined;
  const half = (q.ci[1] - q.ci[0]) / 2;
  return Math.ceil(rounds * (half / ((AA_BAND.high - AA_BAND.low) / 2)) ** 2);
}

/** Per-round ratio of `key` between a contender and the base of the same blocks. */
export function ratioOf(p: Paired, key: keyof RoundResult): Ratio {
  return summary(p.rounds.map((r, i) => r[key] / p.base[i]![key]));
}

/** Per-round ratio of `key` between two contenders, each taken against the base of its own block. */
export function relative(p: Paired, q: Paired, key: keyof RoundResult): Ratio {
  return summary(p.rounds.map((r, i) => r[key] / p.base[i]![key] / (q.rounds[i]![key] / q.base[i]![key])));
}

/** CPU per call over all of `rounds` (their CPU summed over their calls summed): rare costs such as a major GC count at their rate. */
const summedCpu = (rounds: readonly RoundResult[]): number => rounds.reduce((t, r) => t + r.cpuUs, 0) / rounds.reduce((t, r) => t + r.calls, 0);

/** CPU per call of a contender against the base of its blocks, each summed over every round (not a median of rounds). */
export function summedRatio(p: Paired): number {
  return summedCpu(p.rounds) / summedCpu(p.base);
}

/** `summedRatio` of one contender against another's. */
export function summedRelative(p: Paired, q: Paired): number {
  return summedRatio(p) / summedRatio(q);
}

/** Major GCs that began in a contender's slices and in the base's slices of its blocks, over every round. */
export function majorGcsOf(p: Paired): { own: number; base: number } {
  return { own: p.rounds.reduce((t, r) => t + r.majorGcs, 0), base: p.base.reduce((t, r) => t + r.majorGcs, 0) };
}

/** Per-round ratio of two series of the same rounds (e.g. messages per second). */
export function ratioOfSeries(values: readonly number[], base: readonly number[]): Ratio {
  return summary(values.map((v, i) => v / base[i]!));
}

export const withinBand = (r: Ratio): boolean => r.median >= AA_BAND.low && r.median <= AA_BAND.high;
