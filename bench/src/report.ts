import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/** One contender at one concurrency: medians over rounds, ratios to raw grpc-js of the same round. */
export interface UnaryRow {
  contender: string;
  concurrency: number;
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
  cpuUsPerCall: number;
  throughputRatio: number;
  p50Ratio: number;
  cpuRatio: number;
}

export interface Report {
  machine: { cores: number; cpu: string; node: string };
  date: string;
  /** Wall time of the whole run (measurements, not the build), seconds. */
  elapsedS?: number;
  rounds: number;
  roundMs: number;
  unary: UnaryRow[];
  other: {
    bidi?: { rawMsgsPerSec: number; meshMsgsPerSec: number; ratio: number };
    pool?: { pool1CallsPerSec: number; pool4CallsPerSec: number; ratio: number };
    rejection?: {
      p50Us: number;
      p99Us: number;
      calls: number;
      serverCallsDuring: number;
      socketsBefore: number;
      socketsAfter: number;
      state: string;
    };
    heap?: { calls: number; beforeMb: number; afterMb: number; deltaMb: number; seconds: number } | { skipped: string };
  };
}

const f = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
const x = (n: number): string => `${n.toFixed(2)}x`;

/** The report as markdown. */
export function markdown(r: Report): string {
  const lines = [
    `# Benchmark results`,
    '',
    `${r.machine.cores} cores (${r.machine.cpu}), Node ${r.machine.node}, ${r.date}. Medians of ${String(r.rounds)} rounds of ${String(r.roundMs)} ms, contenders alternated; every ratio is against raw grpc-js in the same round.${r.elapsedS === undefined ? '' : ` The run took ${String(Math.round(r.elapsedS))} s.`}`,
    '',
    '## Unary, 100-byte payload',
    '',
    '| contender | c | calls/s | vs raw | p50 µs | p50 vs raw | p99 µs | CPU µs/call | CPU vs raw |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...r.unary.map(
      (u) =>
        `| ${u.contender} | ${String(u.concurrency)} | ${f(u.callsPerSec)} | ${x(u.throughputRatio)} | ${f(u.p50Us)} | ${x(u.p50Ratio)} | ${f(u.p99Us)} | ${f(u.cpuUsPerCall, 1)} | ${x(u.cpuRatio)} |`,
    ),
    '',
  ];
  const o = r.other;
  if (o.bidi)
    lines.push(
      '## Bidi stream, one stream, 128 in flight',
      '',
      `raw ${f(o.bidi.rawMsgsPerSec)} msgs/s, mesh ${f(o.bidi.meshMsgsPerSec)} msgs/s: **${x(o.bidi.ratio)}**`,
      '',
    );
  if (o.pool)
    lines.push(
      '## Channel pool at c=128',
      '',
      `pool 1: ${f(o.pool.pool1CallsPerSec)} calls/s, pool 4: ${f(o.pool.pool4CallsPerSec)} calls/s: **${x(o.pool.ratio)}**`,
      '',
    );
  if (o.rejection) {
    const j = o.rejection;
    lines.push(
      '## Breaker-open rejection',
      '',
      `${f(j.calls)} rejected calls: p50 ${f(j.p50Us, 1)} µs, p99 ${f(j.p99Us, 1)} µs; server saw ${String(j.serverCallsDuring)} calls meanwhile; TCP sockets ${String(j.socketsBefore)} -> ${String(j.socketsAfter)}; breaker ${j.state}`,
      '',
    );
  }
  if (o.heap) {
    lines.push(
      '## Heap after GC',
      '',
      'skipped' in o.heap
        ? o.heap.skipped
        : `${f(o.heap.calls)} unary calls (every feature on, c=128) in ${f(o.heap.seconds, 1)} s: ${f(o.heap.beforeMb, 1)} MB -> ${f(o.heap.afterMb, 1)} MB (**${o.heap.deltaMb >= 0 ? '+' : ''}${f(o.heap.deltaMb, 2)} MB**)`,
      '',
    );
  }
  return lines.join('\n');
}

/** Writes bench/results/latest.json and latest.md and prints the markdown. */
export function writeReport(r: Report): void {
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}latest.json`, `${JSON.stringify(r, null, 2)}\n`);
  const md = markdown(r);
  writeFileSync(`${dir}latest.md`, `${md}\n`);
  process.stdout.write(`${md}\n`);
}
