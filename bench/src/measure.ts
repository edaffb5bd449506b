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

/** Runs `call` with `concurrency` workers for `ms`, timing each call. */
export async function timedRound(call: () => Promise<unknown>, concurrency: number, ms: number): Promise<RoundResult> {
  let latencies = new Float64Array(1 << 16);
  let n = 0;
  const record = (us: number): void => {
    if (n === latencies.length) {
      const bigger = new Float64Array(latencies.length * 2);
      bigger.set(latencies);
      latencies = bigger;
    }
    latencies[n++] = us;
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const end = t0 + ms;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const s = performance.now();
      await call();
      record((performance.now() - s) * 1000);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  const elapsed = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const sorted = latencies.subarray(0, n).sort();
  return {
    calls: n,
    callsPerSec: (n / elapsed) * 1000,
    p50Us: percentile(sorted, 0.5),
    p99Us: percentile(sorted, 0.99),
    cpuUsPerCall: (cpu.user + cpu.system) / n,
  };
}

/** Median of numbers. */
export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
