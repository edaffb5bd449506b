import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { AA_BAND, roundsForBand, withinBand, type Ratio } from './compare.js';
import type { FullGcRun } from './full-gc.js';
import { NAMES, PAIRS } from './names.js';
import { writeBenchmarksMd } from './benchmarks-md.js';

/** One contender at one concurrency: medians over rounds, ratios to raw grpc-js of the same block. */
export interface UnaryRow {
  contender: string;
  concurrency: number;
  callsPerSec: number;
  p50Us: number;
  p99Us: number;
  cpuUsPerCall: number;
  throughput: Ratio;
  /** Client CPU per call of the thread that runs the calls (`machine.cpuMeasure`). */
  cpu: Ratio;
  /** The whole process's client CPU per call (every thread), for comparison. */
  processCpu?: Ratio;
  /** CPU per call against raw's in the same blocks, each summed over every round: rare costs (a major GC) at their rate. */
  cpuSummed?: number;
  /** Major GCs of the client that began in this contender's slices, and in raw's slices of its blocks. */
  majorGcs?: { own: number; base: number };
}

/** One variant of a scaling group: client CPU per call, against raw and against the group's first variant. */
export interface GroupRow {
  variant: string;
  cpuUsPerCall: number;
  cpuVsRaw: Ratio;
  cpuVsFirst: Ratio;
  callsPerSec: number;
  throughputVsFirst: Ratio;
}

export interface Report {
  /** `cpuMeasure`: what "CPU" counts, the calling thread's CPU ('main thread') or the whole process's. */
  machine: { cores: number; cpu: string; node: string; pinning: string; cpuMeasure?: string };
  date: string;
  /** The commit measured (`git rev-parse --short HEAD`), with '+' when the work tree had changes other than results. */
  commit?: string;
  /** Wall time of the whole run (measurements, not the build), seconds. */
  elapsedS?: number;
  rounds: number;
  /** Rounds of the scaling groups where they differ from `rounds`. */
  scalingRounds?: number;
  /** Rounds of the bidi section where they differ from `rounds`. */
  bidiRounds?: number;
  roundMs: number;
  /** What the client collects before each slice: its young generation ('scavenge'), or everything (absent: runs before 2026-12-06). */
  settle?: 'scavenge';
  unary: UnaryRow[];
  /** The no-op plugin's client CPU against every feature on without it, same rounds. */
  plugin?: { concurrency: number; cpu: Ratio }[];
  /** Every feature on against Nest's ClientGrpcProxy at c=128, throughput, same rounds. */
  versusNest?: Ratio;
  /** Two contenders compared in the same rounds (`PAIRS`), per concurrency. */
  pairs?: { pair: keyof typeof PAIRS; concurrency: number; ratio: Ratio; summed?: number }[];
  groups: { title: string; rows: GroupRow[] }[];
  other: {
    bidi?: { contender: string; msgsPerSec: number; ratio: Ratio }[];
    startup?: { clients: number; ms: number; heapMb: number }[];
    rejection?: {
      kind: string;
      calls: number;
      p50Us: number;
      p99Us: number;
      serverCallsDuring: number;
      socketsBefore: number;
      socketsAfter: number;
    }[];
    fullGc?: FullGcRun;
    heap?: { calls: number; beforeMb: number; afterMb: number; deltaMb: number; seconds: number } | { skipped: string };
  };
}

const f = (n: number, digits = 0): string => n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
/** A ratio with its spread: `1.04x (0.99..1.08)`. */
const r = (q: Ratio): string => `${q.median.toFixed(2)}x (${q.min.toFixed(2)}..${q.max.toFixed(2)})`;
/** An A/A ratio, its median to three decimals, so that a verdict at the band's edge reads as it is judged: `0.967x (0.81..1.16)`. */
const aa = (q: Ratio): string => `${q.median.toFixed(3)}x (${q.min.toFixed(2)}..${q.max.toFixed(2)})`;

/** `, median 0.97..1.02 at 95%`: the median's interval, where there is one. */
const interval = (q: Ratio): string => (q.ci ? `, median ${q.ci[0].toFixed(2)}..${q.ci[1].toFixed(2)} at 95%` : '');

/** What the A/A's noise lets this run resolve: the rounds a ±3% interval of the median would take. */
function resolution(ratios: Ratio[], rounds: number): string {
  const needed = Math.max(...ratios.map((q) => roundsForBand(q, rounds) ?? 0));
  return needed > 0 ? `; a 95% interval as narrow as the band would take about ${String(needed)} rounds at this noise` : '';
}

/** Whether each concurrency's A/A control read within the band, in throughput and in CPU. */
export function controlVerdicts(report: Report): { concurrency: number; ok: boolean; text: string }[] {
  return report.unary
    .filter((u) => u.contender === NAMES.control)
    .map((u) => {
      const ok = withinBand(u.cpu) && withinBand(u.throughput);
      return {
        concurrency: u.concurrency,
        ok,
        text: `c=${String(u.concurrency)}: A/A CPU ${aa(u.cpu)}${interval(u.cpu)}, throughput ${aa(u.throughput)}${interval(u.throughput)}: ${ok ? 'within' : '**outside**'} ${String(AA_BAND.low)}..${String(AA_BAND.high)}${ok ? '' : ': the ratios at this concurrency are not quoted'}${resolution([u.cpu, u.throughput], report.rounds)}${u.processCpu && report.machine.cpuMeasure === 'main thread' ? ` (whole-process CPU, not a verdict: ${r(u.processCpu)})` : ''}`,
      };
    });
}

/** `mesh, every feature on vs raw grpc-js + deadline only, CPU per call`. */
export function pairText(pair: keyof typeof PAIRS): string {
  const { of, to, key } = PAIRS[pair];
  return `${of} vs ${to}, ${key === 'cpuUsPerCall' ? 'CPU per call' : key === 'p50Us' ? 'p50 latency' : 'throughput'}`;
}

/** Whether the full-GC section's A/A control read within the band (its pairs are quoted only then). */
export function fullGcQuoted(g: FullGcRun): boolean {
  const control = g.cpu.find((c) => c.contender === NAMES.control);
  return control !== undefined && withinBand(control.ratio);
}

/** The report as markdown. */
export function markdown(report: Report): string {
  const m = report.machine;
  const lines = [
    `### Node ${m.node}`,
    '',
    `${String(m.cores)} cores (${m.cpu}), ${m.pinning}, ${report.date}${report.commit ? `, commit ${report.commit}` : ''}. ${String(report.rounds)} rounds; in each, every contender runs one block against raw grpc-js (slices of ${String(report.roundMs / 2)} ms in the order A B B A or B A A B), the blocks in a different order every round; each ratio is taken per block against raw grpc-js of the same block, then the median and the spread (min..max over rounds) are shown. ${report.settle === 'scavenge' ? 'Before every slice both processes collect their young generation (a scavenge); major GCs come at their natural rate.' : 'Before every slice both processes collect all their garbage (a full GC): at c=1 this reads the library dearer than a run with a scavenge there (bench/METHOD.md, "The forced full GC"); the two do not compare.'}${report.elapsedS === undefined ? '' : ` The run took ${String(Math.round(report.elapsedS))} s.`}`,
    '',
  ];
  if (report.unary.length > 0) {
    lines.push('**A/A control** (raw grpc-js against itself):', '', ...controlVerdicts(report).map((v) => `- ${v.text}`), '');
    // Where CPU is the calling thread's, the whole process's CPU comes as an extra column.
    const whole = m.cpuMeasure === 'main thread';
    const summed = report.unary.some((u) => u.cpuSummed !== undefined);
    lines.push(
      `CPU is the client's ${whole ? "main thread's (process.threadCpuUsage(): the thread that runs the calls); the last column is the whole process's (V8's GC and compiler helper threads too), shown for comparison" : "whole process's (process.cpuUsage())"}.`,
      '',
      `| contender | c | calls/s | throughput vs raw | p50 µs | p99 µs | CPU µs/call | CPU vs raw |${summed ? " CPU vs raw, rounds summed | major GCs in its slices / raw's |" : ''}${whole ? ' process CPU vs raw |' : ''}`,
      `|---|---:|---:|---:|---:|---:|---:|---:|${summed ? '---:|---:|' : ''}${whole ? '---:|' : ''}`,
      ...report.unary.map(
        (u) =>
          `| ${u.contender} | ${String(u.concurrency)} | ${f(u.callsPerSec)} | ${r(u.throughput)} | ${f(u.p50Us)} | ${f(u.p99Us)} | ${f(u.cpuUsPerCall, 1)} | ${r(u.cpu)} |${summed ? ` ${u.cpuSummed?.toFixed(2) ?? ''}x | ${u.majorGcs ? (u.contender === NAMES.raw ? String(u.majorGcs.own) : `${String(u.majorGcs.own)} / ${String(u.majorGcs.base)}`) : ''} |` : ''}${whole && u.processCpu ? ` ${r(u.processCpu)} |` : ''}`,
      ),
      '',
    );
  }
  if (report.plugin) {
    lines.push(
      'One no-op plugin implementing every hook, client CPU per call against every feature on without it (ratio of their ratios to raw, round by round): ' +
        report.plugin.map((p) => `c=${String(p.concurrency)} ${r(p.cpu)}`).join(', ') +
        '.',
      '',
    );
  }
  if (report.pairs?.length) {
    lines.push(
      'Two contenders in the same rounds (the ratio of their ratios to raw, round by round):',
      '',
      ...report.pairs.map(
        (p) =>
          `- c=${String(p.concurrency)}: ${pairText(p.pair)}: ${r(p.ratio)}${interval(p.ratio)}${p.summed === undefined ? '' : `; rounds summed ${p.summed.toFixed(2)}x`}`,
      ),
      '',
    );
  }
  const o = report.other;
  if (o.bidi) {
    lines.push(
      `**Bidi**, one stream, 128 messages in flight${report.bidiRounds === undefined ? '' : `, ${String(report.bidiRounds)} rounds`}:`,
      '',
      '| contender | msgs/s | vs raw |',
      '|---|---:|---:|',
      ...o.bidi.map((b) => `| ${b.contender} | ${f(b.msgsPerSec)} | ${r(b.ratio)} |`),
      '',
      ...o.bidi
        .filter((b) => b.contender === NAMES.control)
        .map(
          (b) =>
            `Bidi A/A control: ${aa(b.ratio)}${interval(b.ratio)}: ${withinBand(b.ratio) ? 'within' : '**outside**'} ${String(AA_BAND.low)}..${String(AA_BAND.high)}${resolution([b.ratio], report.bidiRounds ?? report.rounds)}.`,
        ),
      '',
    );
  }
  for (const g of report.groups) {
    lines.push(
      `**${g.title}** (every feature on, context per call${report.scalingRounds === undefined ? '' : `, ${String(report.scalingRounds)} rounds`}):`,
      '',
      '| variant | CPU µs/call | CPU vs raw | CPU vs first row | calls/s | throughput vs first row |',
      '|---|---:|---:|---:|---:|---:|',
      ...g.rows.map(
        (row) =>
          `| ${row.variant} | ${f(row.cpuUsPerCall, 1)} | ${r(row.cpuVsRaw)} | ${r(row.cpuVsFirst)} | ${f(row.callsPerSec)} | ${r(row.throughputVsFirst)} |`,
      ),
      '',
    );
  }
  if (o.startup) {
    lines.push(
      '**Start-up** (fresh process each, median of 3; clients over 10 proto files):',
      '',
      '| clients | ms to a started app | heap added, MB after GC |',
      '|---:|---:|---:|',
      ...o.startup.map((s) => `| ${String(s.clients)} | ${f(s.ms)} | ${f(s.heapMb, 1)} |`),
      '',
    );
  }
  if (o.rejection) {
    lines.push(
      '**Local rejections** (10,000 warm-up, then 100,000 measured, one after another):',
      '',
      '| kind | p50 µs | p99 µs | server calls meanwhile | TCP sockets before -> after |',
      '|---|---:|---:|---:|---:|',
      ...o.rejection.map(
        (j) =>
          `| ${j.kind} | ${f(j.p50Us, 1)} | ${f(j.p99Us, 1)} | ${String(j.serverCallsDuring)} | ${String(j.socketsBefore)} -> ${String(j.socketsAfter)} |`,
      ),
      '',
    );
  }
  if (o.fullGc) {
    const g = o.fullGc;
    lines.push(
      `**Under a full GC before every slice** (c=1, ${String(g.rounds)} rounds, both processes; the runs' settle before 2026-12-06, where a natural major GC came about ten times less often): CPU per call against raw grpc-js: ${g.cpu.map((c) => `${c.contender} ${c.contender === NAMES.control ? aa(c.ratio) : r(c.ratio)}`).join('; ')}.${fullGcQuoted(g) ? '' : ' Its A/A control read outside 0.97..1.03: its pairs are not quoted.'}`,
      '',
      ...(fullGcQuoted(g)
        ? g.pairs.map(
            (p) =>
              `- ${pairText(p.pair)}: ${r(p.ratio)}${interval(p.ratio)}${p.summed === undefined ? '' : `; rounds summed ${p.summed.toFixed(2)}x`}`,
          )
        : []),
      '',
    );
  }
  if (o.heap) {
    lines.push(
      'skipped' in o.heap
        ? `**Heap**: ${o.heap.skipped}`
        : `**Heap** after GC, ${f(o.heap.calls)} unary calls (every feature on, context per call, c=128) in ${f(o.heap.seconds, 1)} s: ${f(o.heap.beforeMb, 1)} MB -> ${f(o.heap.afterMb, 1)} MB (**${o.heap.deltaMb >= 0 ? '+' : ''}${f(o.heap.deltaMb, 2)} MB**)`,
      '',
    );
  }
  return lines.join('\n');
}

/**
 * Writes bench/results/node<major>.{json,md} (a partial run: node<major>-partial), prints the
 * markdown, and regenerates BENCHMARKS.md from the full runs.
 */
export function writeReport(report: Report, partial: boolean): void {
  const dir = fileURLToPath(new URL('../results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  const name = `node${report.machine.node.replace(/^v(\d+).*$/, '$1')}${partial ? '-partial' : ''}`;
  const md = markdown(report);
  writeFileSync(`${dir}${name}.json`, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${dir}${name}.md`, `${md}\n`);
  process.stdout.write(`${md}\n`);
  writeBenchmarksMd();
}
