/** What one timed round of a contender measured. */
export interface RoundResult {
  calls: number;
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
  /** Client process CPU (user + system) per call, microseconds. */
  cpuUsPerCall: number;
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
  }

  result(): RoundResult {
    const sorted = this.latencies.slice(0, this.calls).sort();
    return {
      calls: this.calls,
      callsPerSec: (this.calls / this.elapsedMs) * 1000,
      p50Us: percentile(sorted, 0.5),
      p99Us: percentile(sorted, 0.99),
      cpuUsPerCall: this.cpuUs / this.calls,
    };
  }
}

/** Runs `call` with `concurrency` workers for `ms`, timing each call into `tally` (a new one unless given). */
export async function timedRound(call: () => Promise<unknown>, concurrency: number, ms: number, tally = new Tally()): Promise<RoundResult> {
  const cpu0 = process.cpuUsage();
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
  const cpu = process.cpuUsage(cpu0);
  tally.cpuUs += cpu.user + cpu.system;
  return tally.result();
}

/** Median of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
