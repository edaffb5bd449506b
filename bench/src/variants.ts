import { ALL_OFF, ALL_ON, NOOP_PLUGIN, bidiMesh, bidiRaw, meshContender, rawContender, rawSameWireContender, type Contender } from './contenders.js';
import { timedRound, timedStream, type RoundResult } from './measure.js';

/** One contender by name, for the single-contender tools (profile, allocations). */
export async function contenderNamed(which: string, target: string): Promise<Contender> {
  switch (which) {
    case 'raw':
      return rawContender(target);
    case 'wire':
      return rawSameWireContender(target);
    case 'off':
      return meshContender('off', target, ALL_OFF, false);
    case 'all':
      return meshContender('all', target, ALL_ON, true);
    case 'plugin':
      return meshContender('plugin', target, { plugins: [NOOP_PLUGIN] }, true);
    default:
      throw new Error(`unknown contender '${which}': raw, wire, off, all, plugin (profile.js also: bidi-raw, bidi-all)`);
  }
}

/** What a single-contender tool runs: a contender's unary calls, or one bidi stream ('bidi-raw', 'bidi-all'). */
export interface Workload {
  /** Runs for `ms`: unary calls with `concurrency` workers, or the stream's messages with `concurrency` in flight. */
  round(ms: number): Promise<Pick<RoundResult, 'calls' | 'callsPerSec' | 'cpuUsPerCall'>>;
  close(): Promise<void>;
}

export async function workloadNamed(which: string, target: string, concurrency: number): Promise<Workload> {
  if (which === 'bidi-raw') {
    const raw = rawContender(target);
    return { round: (ms) => timedStream(bidiRaw(raw.client).run, concurrency, ms), close: () => raw.close() };
  }
  if (which === 'bidi-all') {
    const mesh = await meshContender('all', target, ALL_ON, false);
    return { round: (ms) => timedStream(bidiMesh(mesh.mesh).run, concurrency, ms), close: () => mesh.close() };
  }
  const c = await contenderNamed(which, target);
  return { round: (ms) => timedRound(() => c.unary(), concurrency, ms), close: () => c.close() };
}
