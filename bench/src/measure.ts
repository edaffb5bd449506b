import { PerformanceObserver, constants } from 'node:perf_hooks';
/** What one timed round of a contender measured. */
export interface RoundResult {
  calls: number;
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
  /** Client CPU (user + system) of the measuring thread per call, microseconds (see `CPU_MEASURE`). */
  cpuUsPerCall: number;
  /** Client CPU of the whole process (every thread: V8's GC and compiler helpers too) per call. */
  processCpuUsPerCall: number;
  /** Client CPU of the measuring thread in all, µs (for ratios of the rounds' sums). */
  cpuUs: number;
  /** Major GCs (mark-compact) of the client that began inside the timed slices. */
  majorGcs: number;
}

let majorGcs = 0;
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) if ((e as { detail?: { kind?: number } }).detail?.kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
}).observe({ entryTypes: ['gc'] });
/** Major GCs so far, once the ones already done are reported (the observer hears of them a turn later). */
const majorGcsSoFar = async (): Promise<number> => {
  await new Promise((r) => setImmediate(r));
  return majorGcs;
};

type Usage = { user: number; system: number };
const threadCpuUsage = (process as { threadCpuUsage?: () => Usage }).threadCpuUsage?.bind(process);

/**
 * What `cpuUsPerCall` counts: the CPU of the thread that runs the calls (`process.threadCpuUsage()`,
 * Node 23.9 and later), or the whole process's where Node has no per-thread figure (Node 20, 22).
 */
export const CPU_MEASURE = threadCpuUsage ? 'main thread' : 'process';

/** CPU used so far, microseconds: the measuring thread's (where Node tells it) and the process's. */
function cpuNow(): { thread: number; process: number } {
  const p = process.cpuUsage();
  const t = threadCpuUsage?.() ?? p;
  return { thread: t.user + t.system, process: p.user + p.system };
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** Calls, time, CPU and latencies summed over one or more timed slices of one contender. */
export class Tally {
  calls = 0;
  elapsedMs = 0;
  cpuUs = 0;
  processCpuUs = 0;
  majorGcs = 0;
  private latencies = new Float64Array(1 << 16);

  record(us: number): void {
    if (this.calls === this.latencies.length) {
      const bigger = new Float64Array(this.latencies.length * 2);
      bigger.set(this.latencies);
      this.latencies = bigger;
    }
    this.latencies[this.calls++] = us;
  }

  /** Adds `other`'s slices to this one. */
  absorb(other: Tally): void {
    for (let i = 0; i < other.calls; i++) this.record(other.latencies[i]!);
    this.elapsedMs += other.elapsedMs;
    this.cpuUs += other.cpuUs;
    this.processCpuUs += other.processCpuUs;
    this.majorGcs += other.majorGcs;
  }

  result(): RoundResult {
    const sorted = this.latencies.slice(0, this.calls).sort();
    return {
      calls: this.calls,
      callsPerSec: (this.calls / this.elapsedMs) * 1000,
      p50Us: percentile(sorted, 0.5),
      p99Us: percentile(sorted, 0.99),
      cpuUsPerCall: this.cpuUs / this.calls,
      processCpuUsPerCall: this.processCpuUs / this.calls,
      cpuUs: this.cpuUs,
      majorGcs: this.majorGcs,
    };
  }
}

/** Runs `call` with `concurrency` workers for `ms`, timing each call into `tally` (a new one unless given). */
export async function timedRound(call: () => Promise<unknown>, concurrency: number, ms: number, tally = new Tally()): Promise<RoundResult> {
  const gcs0 = await majorGcsSoFar();
  const cpu0 = cpuNow();
  const t0 = performance.now();
  const end = t0 + ms;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const s = performance.now();
      await call();
      tally.record((performance.now() - s) * 1000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  tally.elapsedMs += performance.now() - t0;
  const cpu = cpuNow();
  tally.cpuUs += cpu.thread - cpu0.thread;
  tally.processCpuUs += cpu.process - cpu0.process;
  tally.majorGcs += (await majorGcsSoFar()) - gcs0;
  return tally.result();
}

/**
 * One bidi stream for `ms` (`run` as a bidi contender runs it, with `inFlight` messages outstanding):
 * its messages stand for calls, so that the profile of a stream reads per message.
 */
export async function timedStream(
  run: (inFlight: number, ms: number) => Promise<number>,
  inFlight: number,
  ms: number,
): Promise<Pick<RoundResult, 'calls' | 'callsPerSec' | 'cpuUsPerCall'>> {
  const cpu0 = cpuNow();
  const perSec = await run(inFlight, ms);
  const calls = (perSec * ms) / 1000;
  return { calls, callsPerSec: perSec, cpuUsPerCall: (cpuNow().thread - cpu0.thread) / calls };
}

/** Median of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
