import { alternate, ratioOf, relative, type Ratio } from './compare.js';
import type { Contender } from './contenders.js';
import { NAMES, PAIRS } from './names.js';

/** The c=1 ratios under a forced full GC before every slice (see `underFullGc`). */
export interface FullGcRun {
  readonly rounds: number;
  /** Each contender's CPU per call against raw grpc-js of its block. */
  readonly cpu: { contender: string; ratio: Ratio }[];
  /** The library's own cost (`own`) and everything off (`off`), as in the unary tables' pairs. */
  readonly pairs: { pair: 'own' | 'off'; ratio: Ratio }[];
}

/**
 * The unary rounds at c=1 once more, with the runs' former settle: a full GC in both processes
 * before every slice, where the tables collect only the client's young generation. A full GC
 * every slice (one per ~600 calls at c=1; a natural one came every 5,000-9,000 calls in this
 * process) throws away optimized code whose maps died with the calls' objects (V8's "embedded
 * weak objects cleared"), and a library with more code per call pays more for it. Shown beside
 * the tables, so that what a user with a heap that often needs a major GC pays is measured too.
 */
export async function underFullGc(
  contenders: readonly Contender[],
  rounds: number,
  roundMs: number,
  serverGc: () => Promise<unknown>,
): Promise<FullGcRun> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('the full-GC section needs --expose-gc');
  const settle = async (): Promise<void> => {
    await serverGc();
    gc();
    await new Promise((r) => setTimeout(r, 20));
  };
  const results = await alternate(contenders, 1, rounds, roundMs, settle);
  const pairs: FullGcRun['pairs'] = [];
  for (const pair of ['own', 'off'] as const) {
    const of = results.get(PAIRS[pair].of);
    const to = results.get(PAIRS[pair].to);
    if (of && to) pairs.push({ pair, ratio: relative(of, to, 'cpuUsPerCall') });
  }
  return {
    rounds,
    cpu: [...results].filter(([name]) => name !== NAMES.raw).map(([contender, paired]) => ({ contender, ratio: ratioOf(paired, 'cpuUsPerCall') })),
    pairs,
  };
}
