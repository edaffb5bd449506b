import { alternate, ratioOf, relative, summedRelative, type Ratio } from './compare.js';
import type { Contender } from './contenders.js';
import { NAMES, PAIRS } from './names.js';

/** The c=1 ratios under a forced full GC before every slice (see `underFullGc`). */
export interface FullGcRun {
  readonly rounds: number;
  /** Each contender's CPU per call against raw grpc-js of its block. */
  readonly cpu: { contender: string; ratio: Ratio }[];
  /** The library's own cost (`own`, `ownP50`) and everything off (`off`), as in the unary tables' pairs. */
  readonly pairs: { pair: 'own' | 'ownP50' | 'off'; ratio: Ratio; summed?: number }[];
}

/**
 * The unary rounds at c=1 once more, with the runs' former settle: a full GC in both processes
 * before every slice, where the tables collect only the client's young generation. A full GC
 * every slice (one per ~600 calls at c=1; a natural one came every 6,700-9,000 calls in this
 * process) throws away optimized code whose maps died with the calls' objects (V8's "embedded
 * weak objects cleared"; the probes are consistent with that, see METHOD.md), and a library with
 * more code per call pays more for it. `settle` runs a full GC in both processes. Shown beside
 * the tables, so that what a user with a heap that often needs a major GC pays is measured too.
 */
export async function underFullGc(
  contenders: readonly Contender[],
  rounds: number,
  roundMs: number,
  settle: () => Promise<void>,
): Promise<FullGcRun> {
  const results = await alternate(contenders, 1, rounds, roundMs, settle);
  const pairs: FullGcRun['pairs'] = [];
  for (const pair of ['own', 'ownP50', 'off'] as const) {
    const { of, to, key } = PAIRS[pair];
    const a = results.get(of);
    const b = results.get(to);
    if (a && b) pairs.push({ pair, ratio: relative(a, b, key), ...(key === 'cpuUsPerCall' && { summed: summedRelative(a, b) }) });
  }
  return {
    rounds,
    cpu: [...results].filter(([name]) => name !== NAMES.raw).map(([contender, paired]) => ({ contender, ratio: ratioOf(paired, 'cpuUsPerCall') })),
    pairs,
  };
}
