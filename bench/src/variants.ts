import {
  ALL_OFF,
  ALL_ON,
  NOOP_PLUGIN,
  bidiMesh,
  bidiRaw,
  meshContender,
  rawContender,
  rawDeadlineContender,
  rawSameWireContender,
  standaloneCls,
  type Contender,
} from './contenders.js';
import { timedRound, timedStream, type RoundResult } from './measure.js';

/** One contender by name, for the single-contender tools (profile, allocations). */
export async function contenderNamed(which: string, target: string): Promise<Contender> {
  switch (which) {
    case 'raw':
      return rawContender(target);
    case 'wire':
      return rawSameWireContender(target);
    case 'wire-scoped':
      return rawSameWireContender(target, standaloneCls());
    case 'deadline':
      return rawDeadlineContender(target);
    case 'request':
      return meshContender('request', target, ALL_ON, true, {}, true);
    case 'off':
      return meshContender('off', target, ALL_OFF, false);
    case 'all':
      return meshContender('all', target, ALL_ON, true);
    case 'plugin':
      return meshContender('plugin', target, { plugins: [NOOP_PLUGIN] }, true);
    case 'plugin-intercept':
      return meshContender(which, target, { plugins: [{ name: 'noop', intercept: NOOP_PLUGIN.intercept }] }, true);
    case 'plugin-hooks':
      return meshContender(which, target, { plugins: [{ ...NOOP_PLUGIN, intercept: undefined }] }, true);
    case 'all+then':
    case 'all+spin':
    case 'all+garbage':
      return burdened(await meshContender(which, target, ALL_ON, true), BURDENS[which]);
    default:
      throw new Error(
        `unknown contender '${which}': raw, wire, wire-scoped, deadline, off, request, all, plugin, plugin-intercept, plugin-hooks, all+then, all+spin, all+garbage (profile.js also: bidi-raw, bidi-all, bidi-off)`,
      );
  }
}

/**
 * Controls for profile-ab.js: 'all' plus work of the bench's own per call, outside the library.
 * 'all+then' only adds the wrapper's `then`; 'all+spin' adds pure computation (no allocation);
 * 'all+garbage' allocates about what a no-op plugin adds per call (46 small objects, 7 KB) and keeps
 * it until the call ends. They tell whether extra per-call work, of any kind, moves the frames of
 * grpc-js and Node beyond the tool's own noise.
 */
function burdened(c: Contender, burden: () => unknown): Contender {
  return {
    ...c,
    unary: () => {
      const kept = burden();
      return c.unary().then((v) => (kept === sink ? undefined : v));
    },
  };
}

let sink: unknown;
const BURDENS: Record<string, () => unknown> = {
  'all+then': () => undefined,
  'all+spin': spin,
  'all+garbage': garbage,
};
function spin(): unknown {
  let x = 0;
  for (let i = 0; i < 4000; i++) x = (Math.imul(x, 31) + i) | 0;
  return (sink = x);
}
function garbage(): unknown {
  const objects: { n: number; next: unknown; words: number[] }[] = [];
  for (let i = 0; i < 46; i++) objects.push({ n: i, next: objects[i - 1], words: [i, i, i, i, i] });
  return objects;
}

/** What a single-contender tool runs: a contender's unary calls, or one bidi stream ('bidi-raw', 'bidi-all', 'bidi-off': everything off). */
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
  if (which === 'bidi-all' || which === 'bidi-off') {
    const mesh = which === 'bidi-all' ? await meshContender('all', target, ALL_ON, false) : await meshContender('off', target, ALL_OFF, false);
    return { round: (ms) => timedStream(bidiMesh(mesh.mesh).run, concurrency, ms), close: () => mesh.close() };
  }
  const c = await contenderNamed(which, target);
  return { round: (ms) => timedRound(() => c.unary(), concurrency, ms), close: () => c.close() };
}
