import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withinBand, type Ratio } from './compare.js';
import { NAMES } from './names.js';
import { controlVerdicts, type Report } from './report.js';

/** Where METHOD.md explains the misses the profiles found. */
const LEFT = 'see "What is left, and why"';

/**
 * `met` only when every round meets it, or when the 95% interval of the median lies wholly on the
 * target's side; a median that meets it with an interval that reaches across is not resolved; a
 * miss says by how much, and whether its interval reaches the target.
 */
function verdict(q: Ratio, limit: number, atMost: boolean): string {
  const meets = (v: number): boolean => (atMost ? v <= limit : v >= limit);
  const ci = q.ci ? `${q.ci[0].toFixed(2)}..${q.ci[1].toFixed(2)}` : undefined;
  if (meets(q.min) && meets(q.max)) return 'met (every round)';
  if (q.ci && meets(q.ci[0]) && meets(q.ci[1])) return `met (median's 95% interval ${ci!})`;
  if (meets(q.median))
    return `not resolved: the median meets it, ${ci ? `its 95% interval ${ci} reaches across` : `the rounds spread ${q.min.toFixed(2)}..${q.max.toFixed(2)}`}`;
  const miss = atMost ? q.median / limit - 1 : 1 - q.median / limit;
  const reaches = q.ci && (meets(q.ci[0]) || meets(q.ci[1]));
  return `**missed** by ${(miss * 100).toFixed(1)}%${reaches ? ` (the median's 95% interval ${ci!} reaches the target)` : ''}`;
}
/** `1.41x (1.23..1.99; median 1.40..1.43 at 95%)`: the median, the rounds' spread, the median's interval. */
const x = (q: Ratio): string =>
  `${q.median.toFixed(2)}x (${q.min.toFixed(2)}..${q.max.toFixed(2)}${q.ci ? `; median ${q.ci[0].toFixed(2)}..${q.ci[1].toFixed(2)} at 95%` : ''})`;

/** The row's verdict, and beside a miss what the profiles found it spent (empty otherwise). */
const judged = (text: string, why: string): string => `${text} | ${text.startsWith('**missed**') ? why : ''}`;

/** The TARGETS.md speed rows against one Node line's report. */
export function targetRows(report: Report): string[] {
  const rows: string[] = [];
  const controls = new Map(controlVerdicts(report).map((v) => [v.concurrency, v.ok]));
  const quoted = (c: number, text: string): string =>
    controls.get(c) === false ? `not quoted: the A/A control at c=${String(c)} read outside 0.97..1.03` : text;
  const unary = (contender: string, c: number) => report.unary.find((u) => u.contender === contender && u.concurrency === c);
  for (const c of [1, 16, 128]) {
    const row = unary(NAMES.all, c);
    const wire = unary(NAMES.wire, c);
    const why =
      (wire ? `grpc-js alone doing the same wire work (deadline, context headers) reads ${wire.cpu.median.toFixed(2)}x; ` : '') +
      `the rest is the library's frames, RxJS and the context per call${c === 1 ? ', each about twice its c=128 cost per call with one call in flight' : ''}: ${LEFT}`;
    if (row)
      rows.push(
        `| client CPU per call, every feature on, context per call, c=${String(c)} | <= 1.10x | ${x(row.cpu)} | ${judged(quoted(c, verdict(row.cpu, 1.1, true)), why)} |`,
      );
  }
  const t128 = unary(NAMES.all, 128);
  if (t128) {
    const why = `the calling thread is the bottleneck at c=128, so throughput follows the CPU per call (${t128.cpu.median.toFixed(2)}x, above)`;
    rows.push(
      `| unary throughput, same, c=128 | >= 0.95x | ${x(t128.throughput)} | ${judged(quoted(128, verdict(t128.throughput, 0.95, false)), why)} |`,
    );
  }
  for (const p of report.plugin ?? []) {
    const why = `what the plugin path allocates per call and its own frames (the intercept chain's Observable, each attempt's state and metadata copy): ${LEFT}`;
    rows.push(
      `| one no-op plugin with every hook, on top, c=${String(p.concurrency)} | <= 1.03x | ${x(p.cpu)} | ${judged(quoted(p.concurrency, verdict(p.cpu, 1.03, true)), why)} |`,
    );
  }
  if (report.versusNest) {
    const nest = unary(NAMES.nest, 128);
    const wire = unary(NAMES.wire, 128);
    const why =
      `Nest's proxy asks grpc-js for no deadline and no metadata${nest ? ` (${nest.cpu.median.toFixed(2)}x raw's CPU)` : ''}` +
      `${wire ? `; grpc-js alone doing the mesh's wire work moves ${wire.throughput.median.toFixed(2)}x of raw` : ''}; the rest as the CPU rows`;
    rows.push(
      `| throughput vs ClientGrpcProxy, c=128 | >= 1.0x | ${x(report.versusNest)} | ${judged(quoted(128, verdict(report.versusNest, 1, false)), why)} |`,
    );
  }
  const bidi = report.other.bidi?.find((b) => b.contender === NAMES.all);
  const bidiControl = report.other.bidi?.find((b) => b.contender === NAMES.control);
  if (bidi) {
    const text =
      bidiControl && !withinBand(bidiControl.ratio) ? 'not quoted: the bidi A/A control read outside 0.97..1.03' : verdict(bidi.ratio, 0.95, false);
    const why = `the client's thread is the bottleneck: CPU per message, spread over the RxJS Subject, the request check and decoding, none over 0.4 µs: ${LEFT}`;
    rows.push(`| bidi, one stream, 128 in flight | >= 0.95x | ${x(bidi.ratio)} | ${judged(text, why)} |`);
  }
  for (const j of report.other.rejection ?? []) {
    const clean = j.serverCallsDuring === 0 && j.socketsAfter === j.socketsBefore;
    rows.push(
      `| rejection, ${j.kind} | p99 < 50 µs, no socket | p99 ${j.p99Us.toFixed(1)} µs, ${String(j.serverCallsDuring)} server calls | ${judged(j.p99Us < 50 && clean ? 'met' : '**missed**', 'a stretch of the process, not the refusal path: ' + LEFT)} |`,
    );
  }
  const heap = report.other.heap;
  if (heap && !('skipped' in heap)) {
    rows.push(
      `| heap after ${(heap.calls / 1e6).toFixed(1)}M calls | within 5 MB | ${heap.deltaMb >= 0 ? '+' : ''}${heap.deltaMb.toFixed(2)} MB | ${judged(Math.abs(heap.deltaMb) <= 5 ? 'met' : '**missed**', 'no profile of a miss here yet')} |`,
    );
  }
  const s100 = report.other.startup?.find((s) => s.clients === 100);
  if (s100)
    rows.push(
      `| start-up, 100 clients over 10 proto files | < 1 s, < 50 MB | ${s100.ms.toFixed(0)} ms, ${s100.heapMb.toFixed(1)} MB | ${judged(s100.ms < 1000 && s100.heapMb < 50 ? 'met' : '**missed**', 'no profile of a miss here yet')} |`,
    );
  const pool = report.groups.find((g) => g.title.startsWith('Channel pool'))?.rows.find((r) => r.variant === 'pool 4');
  if (pool)
    rows.push(
      `| channel pool of 4 vs 1, c=128 | >= 1.0x | ${x(pool.throughputVsFirst)} | ${judged(verdict(pool.throughputVsFirst, 1, false), 'more HTTP/2 sessions, fewer calls per write: ' + LEFT)} |`,
    );
  return rows;
}

/**
 * BENCHMARKS.md: bench/METHOD.md (method, profiles, decisions; written by hand), then for each Node
 * line with results in bench/results, the targets verdict (computed) and the tables.
 */
export function writeBenchmarksMd(): void {
  const bench = fileURLToPath(new URL('../', import.meta.url));
  const results = `${bench}results/`;
  const lines = (readdirSync(results).filter((n) => /^node\d+\.json$/.test(n)) as string[]).sort(
    (a, b) => Number(a.slice(4, -5)) - Number(b.slice(4, -5)),
  );
  const parts = [readFileSync(`${bench}METHOD.md`, 'utf8').trimEnd(), '', '## Results', ''];
  const reports = lines.map((file) => ({ file, report: JSON.parse(readFileSync(`${results}${file}`, 'utf8')) as Report }));
  const newest = reports.map((r) => r.report).sort((a, b) => b.date.localeCompare(a.date))[0];
  for (const { file, report } of reports) {
    const md = `${results}${file.replace('.json', '.md')}`;
    const stale = newest && report.commit !== newest.commit;
    parts.push(
      `### Targets on Node ${report.machine.node}`,
      '',
      ...(stale
        ? [
            `Measured at ${report.commit ?? 'an unrecorded commit'}, earlier than the newest tables (${newest.commit ?? '?'}), and not run again since: read it as that commit's figures.`,
            '',
          ]
        : []),
      "| measure | target | measured (median, spread of the rounds; the median's 95% interval) | verdict | why it misses (the profiles) |",
      '|---|---|---|---|---|',
      ...targetRows(report),
      '',
      existsSync(md) ? readFileSync(md, 'utf8').trimEnd() : '',
      '',
    );
  }
  writeFileSync(fileURLToPath(new URL('../../BENCHMARKS.md', import.meta.url)), `${parts.join('\n').trimEnd()}\n`);
}
