import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withinBand, type Ratio } from './compare.js';
import { NAMES, type PAIRS } from './names.js';
import { controlVerdicts, fullGcQuoted, type Report } from './report.js';

/** Where METHOD.md explains the misses the profiles found (a link from BENCHMARKS.md, at the repository's root). */
const LEFT = 'see "What is left, and why" in [bench/METHOD.md](bench/METHOD.md#where-the-time-goes)';

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

/** One target of TARGETS.md against one Node line's report. */
export interface Target {
  /** What is measured, e.g. `client CPU per call, every feature on, context per call, c=1`. */
  readonly measure: string;
  /** The target, e.g. `<= 1.10x`. */
  readonly target: string;
  /** The figure: the median, the spread of the rounds and the median's 95% interval. */
  readonly measured: string;
  /** The same, short: the median (or the figure a pass/fail target reads). */
  readonly short: string;
  /** The verdict, e.g. `met (every round)`, `**missed** by 26.2%`, `not resolved: ...`. */
  readonly verdict: string;
  /** Beside a miss, what the profiles found it spent. */
  readonly why: string;
}

/** A verdict in a few words, for the summary table: `met`, `**missed** by 26.2%`, `not resolved`, `not quoted`. */
export function shortVerdict(verdict: string): string {
  if (verdict.startsWith('met')) return 'met';
  if (verdict.startsWith('not resolved')) return 'not resolved';
  if (verdict.startsWith('not quoted')) return 'not quoted';
  return /^\*\*missed\*\*( by [\d.]+%)?/.exec(verdict)?.[0] ?? verdict;
}

/** Per concurrency, whether the A/A control read within its band. */
const controlsOf = (report: Report): Map<number, boolean> => new Map(controlVerdicts(report).map((v) => [v.concurrency, v.ok]));

/** The TARGETS.md speed rows against one Node line's report. */
export function targets(report: Report): Target[] {
  const rows: Target[] = [];
  const add = (measure: string, target: string, measured: string, short: string, verdict: string, why: string): void => {
    rows.push({ measure, target, measured, short, verdict, why: verdict.startsWith('**missed**') ? why : '' });
  };
  const controls = controlsOf(report);
  const quoted = (c: number, text: string): string =>
    controls.get(c) === false ? `not quoted: the A/A control at c=${String(c)} read outside 0.97..1.03` : text;
  const med = (q: Ratio): string => `${q.median.toFixed(2)}x`;
  const pair = (name: keyof typeof PAIRS, c: number): Ratio | undefined => report.pairs?.find((p) => p.pair === name && p.concurrency === c)?.ratio;
  for (const c of [1, 16, 128]) {
    const own = pair('own', c);
    const limit = c === 1 ? 1.15 : 1.05;
    if (own)
      add(
        `client CPU per call, every feature on, context per call, vs the same wire work in a nestjs-cls scope, c=${String(c)}`,
        `<= ${limit.toFixed(2)}x`,
        x(own),
        med(own),
        quoted(c, verdict(own, limit, true)),
        `the library's own frames, RxJS at the edge and the context per call: ${LEFT}`,
      );
  }
  const p50 = pair('ownP50', 1);
  if (p50)
    add(
      'p50 latency at c=1, every feature on, vs the same wire work in a nestjs-cls scope',
      '<= 1.15x',
      x(p50),
      med(p50),
      quoted(1, verdict(p50, 1.15, true)),
      `with one call in flight the latency is the CPU of both ends in turn: the client's share follows its CPU per call (above): ${LEFT}`,
    );
  for (const c of [1, 16, 128]) {
    const off = pair('off', c);
    if (off)
      add(
        `client CPU per call, everything off, vs raw grpc-js with the same deadline, c=${String(c)}`,
        '<= 1.03x',
        x(off),
        med(off),
        quoted(c, verdict(off, 1.03, true)),
        `what a call costs before and after grpc-js with no feature on (the Observable, the call's record, the request check): ${LEFT}`,
      );
  }
  const fullGc = report.other.fullGc;
  if (fullGc) {
    const why = `a major GC throws away optimized code of the calls, and the library has more of it: see "The forced full GC" in [bench/METHOD.md](bench/METHOD.md#the-forced-full-gc-found-and-changed-2026-12-06)`;
    const rowsOf: [name: 'own' | 'ownP50' | 'off', measure: string, limit: number][] = [
      ['own', 'client CPU per call, every feature on, context per call, vs the same wire work in a nestjs-cls scope', 1.15],
      ['ownP50', 'p50 latency, every feature on, vs the same wire work in a nestjs-cls scope', 1.15],
      ['off', 'client CPU per call, everything off, vs raw grpc-js with the same deadline', 1.03],
    ];
    for (const [name, measure, limit] of rowsOf) {
      const q = fullGc.pairs.find((p) => p.pair === name)?.ratio;
      if (!q) continue;
      const text = fullGcQuoted(fullGc) ? verdict(q, limit, true) : "not quoted: the full-GC section's A/A control read outside 0.97..1.03";
      add(`${measure}, c=1, under a full GC before every slice`, `<= ${limit.toFixed(2)}x`, x(q), med(q), text, why);
    }
  }
  for (const c of [1, 16, 128]) {
    const cpu = pair('niceCpu', c);
    const throughput = pair('niceThroughput', c);
    if (cpu)
      add(
        `client CPU per call vs nice-grpc (retry + deadline), c=${String(c)}`,
        '< 1.00x (ahead)',
        x(cpu),
        med(cpu),
        quoted(c, verdict(cpu, 1, true)),
        LEFT,
      );
    if (throughput)
      add(
        `throughput vs nice-grpc (retry + deadline), c=${String(c)}`,
        '> 1.00x (ahead)',
        x(throughput),
        med(throughput),
        quoted(c, verdict(throughput, 1, false)),
        LEFT,
      );
  }
  for (const p of report.plugin ?? []) {
    const why = `what the plugin path still allocates per call and its frames (about 2 KB in 12 objects: the call's MeshCall, the chain and its handoff, each attempt's hook state and end; a pass-through intercept adds no Observable since 0152813): ${LEFT}`;
    add(
      `one no-op plugin with every hook, on top, c=${String(p.concurrency)}`,
      '<= 1.03x',
      x(p.cpu),
      med(p.cpu),
      quoted(p.concurrency, verdict(p.cpu, 1.03, true)),
      why,
    );
  }
  const bidi = report.other.bidi?.find((b) => b.contender === NAMES.all);
  const bidiControl = report.other.bidi?.find((b) => b.contender === NAMES.control);
  if (bidi) {
    const text =
      bidiControl && !withinBand(bidiControl.ratio) ? 'not quoted: the bidi A/A control read outside 0.97..1.03' : verdict(bidi.ratio, 0.97, false);
    const why = `the library's own work per message (a bare loop on grpc-js's channel call reads 1.02x raw, the mesh about 0.93x of that loop), spread over the wire's listener, the response's defaults, the request stream and the request check (compiled per message type since 3840bcc), none over 0.3 µs: ${LEFT}`;
    add('bidi, one stream, 128 in flight', '>= 0.97x', x(bidi.ratio), med(bidi.ratio), text, why);
  }
  for (const j of report.other.rejection ?? []) {
    const clean = j.serverCallsDuring === 0 && j.socketsAfter === j.socketsBefore;
    add(
      `rejection, ${j.kind}`,
      'p99 < 50 µs, no socket',
      `p99 ${j.p99Us.toFixed(1)} µs, ${String(j.serverCallsDuring)} server calls`,
      `p99 ${j.p99Us.toFixed(1)} µs`,
      j.p99Us < 50 && clean ? 'met' : '**missed**',
      'a stretch of the process, not the refusal path: ' + LEFT,
    );
  }
  const heap = report.other.heap;
  if (heap && !('skipped' in heap)) {
    const delta = `${heap.deltaMb >= 0 ? '+' : ''}${heap.deltaMb.toFixed(2)} MB`;
    add(
      `heap after ${(heap.calls / 1e6).toFixed(1)}M calls`,
      'within 5 MB',
      delta,
      delta,
      Math.abs(heap.deltaMb) <= 5 ? 'met' : '**missed**',
      'no profile of a miss here yet',
    );
  }
  const s100 = report.other.startup?.find((s) => s.clients === 100);
  if (s100) {
    const figure = `${s100.ms.toFixed(0)} ms, ${s100.heapMb.toFixed(1)} MB`;
    add(
      'start-up, 100 clients over 10 proto files',
      '< 1 s, < 50 MB',
      figure,
      figure,
      s100.ms < 1000 && s100.heapMb < 50 ? 'met' : '**missed**',
      'no profile of a miss here yet',
    );
  }
  const pool = report.groups.find((g) => g.title.startsWith('Channel pool'))?.rows.find((r) => r.variant === 'pool 4');
  if (pool)
    add(
      'channel pool of 4 vs 1, c=128',
      '>= 1.0x',
      x(pool.throughputVsFirst),
      med(pool.throughputVsFirst),
      verdict(pool.throughputVsFirst, 1, false),
      'more HTTP/2 sessions, fewer calls per write: ' + LEFT,
    );
  return rows;
}

/** The TARGETS.md speed rows against one Node line's report, as markdown table rows. */
export function targetRows(report: Report): string[] {
  return targets(report).map((t) => `| ${t.measure} | ${t.target} | ${t.measured} | ${t.verdict} | ${t.why} |`);
}

/** What the client collected before each slice of a run. */
const settleOf = (report: Report): string =>
  report.settle === 'scavenge' ? 'a scavenge in both processes before each slice' : 'a full GC in both processes before each slice';

/** `v24.21.0` -> `Node 24`. */
const lineOf = (report: Report): string => `Node ${report.machine.node.replace(/^v(\d+).*$/, '$1')}`;

/**
 * What a user pays per call: client CPU per call of the mesh (every feature on, everything off)
 * over raw grpc-js and over grpc-js doing the same wire work (every feature on: deadline and
 * context headers in a nestjs-cls scope; everything off: the same deadline), at c=1 and c=128, per
 * Node line, in µs and as the ratio measured round by round.
 */
function costRows(reports: Report[]): string[] {
  const rows: string[] = [];
  for (const report of reports) {
    const controls = controlsOf(report);
    for (const c of [1, 128]) {
      const at = (contender: string) => report.unary.find((u) => u.contender === contender && u.concurrency === c);
      const pairOf = (name: keyof typeof PAIRS) => report.pairs?.find((p) => p.pair === name && p.concurrency === c)?.ratio;
      const raw = at(NAMES.raw);
      if (!raw) continue;
      const lines = [
        { contender: NAMES.all, floor: at(NAMES.wireScoped) ?? at(NAMES.wire), ratio: pairOf('own') },
        { contender: NAMES.off, floor: at(NAMES.deadline), ratio: pairOf('off') },
      ];
      for (const { contender, floor, ratio } of lines) {
        const row = at(contender);
        if (!row) continue;
        const plus = (n: number): string => `${n >= 0 ? '+' : ''}${n.toFixed(1)}`;
        const mark = controls.get(c) === false ? ' (A/A outside its band: not quoted)' : '';
        const overWire = floor
          ? `${plus(row.cpuUsPerCall - floor.cpuUsPerCall)} µs, ${(ratio?.median ?? row.cpu.median / floor.cpu.median).toFixed(2)}x${mark}`
          : 'not measured';
        rows.push(
          `| ${lineOf(report)} | ${String(c)} | ${contender} | ${row.cpuUsPerCall.toFixed(1)} | ${plus(row.cpuUsPerCall - raw.cpuUsPerCall)} µs, ${row.cpu.median.toFixed(2)}x${mark} | ${floor?.contender ?? ''} | ${overWire} |`,
        );
      }
    }
  }
  return rows;
}

/**
 * BENCHMARKS.md, from the full runs in bench/results (node<major>.json): first the verdict of every
 * target per Node line (each marked with the commit it measured), then what a user pays per call,
 * then each line's targets with their figures and why a miss misses, and its tables. The method,
 * the noise study and the profiles are bench/METHOD.md (written by hand), linked.
 */
export function benchmarksMd(): string {
  const bench = fileURLToPath(new URL('../', import.meta.url));
  const results = `${bench}results/`;
  const files = (readdirSync(results).filter((n) => /^node\d+\.json$/.test(n)) as string[]).sort(
    (a, b) => Number(a.slice(4, -5)) - Number(b.slice(4, -5)),
  );
  const runs = files.map((file) => ({ file, report: JSON.parse(readFileSync(`${results}${file}`, 'utf8')) as Report }));
  const reports = runs.map((r) => r.report);
  const newest = [...reports].sort((a, b) => b.date.localeCompare(a.date))[0];
  const stale = reports.filter((r) => newest && r.commit !== newest.commit);
  const byLine = reports.map((r) => ({ report: r, targets: new Map(targets(r).map((t) => [t.measure, t])) }));
  const measures = [...new Set(byLine.flatMap((l) => [...l.targets.keys()]))];
  const cpuOf = (r: Report): string => (r.machine.cpuMeasure === 'main thread' ? 'calling thread' : 'whole process');
  const parts = [
    '# Benchmarks',
    '',
    '<!-- Generated by bench/src/benchmarks-md.ts from bench/results/node<major>.json: `npm run bench:md` (a bench run does it too). Do not edit. -->',
    '',
    `What \`@datapunk/mesh-client\` costs next to raw @grpc/grpc-js, on one 2-core machine, client and server pinned to a core each. Ratios are the median of per-round ratios against raw grpc-js measured in the same block; "met" needs every round, or the median's whole 95% interval, on the target's side. How it is measured, the noise, where the time goes and why the misses miss: [bench/METHOD.md](bench/METHOD.md).`,
    '',
    '## What a user pays per call',
    '',
    "Client CPU per call of the mesh client (µs, median of the rounds; unary, 100-byte payload), and what it adds over raw grpc-js and over grpc-js doing the same wire work through its `Client` (for every feature on, the deadline and the context headers inside a nestjs-cls scope, which an app with per-request context pays with or without this library; for everything off, the same deadline). The library calls grpc-js's channel directly, without the `Client` layer those rows pay for, so it can read under them. µs are differences of medians, ratios medians of per-round ratios: within the noise they can disagree in sign. A ratio whose concurrency's A/A control read outside its band is marked.",
    '',
    '| Node | c | mesh client | µs per call | over raw grpc-js | same wire work | over the same wire work |',
    '|---|---:|---|---:|---:|---|---:|',
    ...costRows(reports),
    '',
    '## Verdicts',
    '',
    `| measure | target | ${byLine.map((l) => `${lineOf(l.report)} (${l.report.commit ?? 'commit not recorded'})`).join(' | ')} |`,
    `|---|---|${byLine.map(() => '---|').join('')}`,
    ...measures.map((m) => {
      const target = byLine.map((l) => l.targets.get(m)).find(Boolean)!.target;
      const cells = byLine.map((l) => {
        const t = l.targets.get(m);
        return t ? `${t.short}: ${shortVerdict(t.verdict)}` : 'not measured';
      });
      return `| ${m} | ${target} | ${cells.join(' | ')} |`;
    }),
    '',
    `Each column is one run at the commit it names: ${byLine
      .map(
        (l) =>
          `${lineOf(l.report)} ${l.report.machine.node} at ${l.report.commit ?? '?'}, ${l.report.date.slice(0, 10)}, ${String(l.report.rounds)} rounds${l.report.bidiRounds === undefined ? '' : ` (bidi ${String(l.report.bidiRounds)})`}, CPU of the ${cpuOf(l.report)}, ${settleOf(l.report)}`,
      )
      .join('; ')}.${
      stale.length
        ? ` ${stale.map(lineOf).join(' and ')} ${stale.length === 1 ? 'was' : 'were'} measured at an earlier commit than the newest (${newest!.commit ?? '?'}) and not run again since: read ${stale.length === 1 ? 'it' : 'them'} as that commit's figures.`
        : ''
    } On Node 20 and 22 CPU is the whole process's (no per-thread figure), so their CPU ratios do not compare like for like with Node 24 and 26.${
      reports.some((r) => r.settle !== 'scavenge')
        ? ' A run with a full GC before every slice (the settle before 2026-12-06) does not compare with one with a scavenge there; measured both ways in one run (c=1), the full GC reads the library dearer: see "The forced full GC" in [bench/METHOD.md](bench/METHOD.md).'
        : ''
    }`,
    '',
    '## Results by Node line',
    '',
  ];
  for (const { file, report } of runs) {
    const md = `${results}${file.replace('.json', '.md')}`;
    parts.push(
      `### Targets on Node ${report.machine.node}`,
      '',
      ...(stale.includes(report)
        ? [
            `Measured at ${report.commit ?? 'an unrecorded commit'}, earlier than the newest tables (${newest!.commit ?? '?'}), and not run again since: read it as that commit's figures.`,
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
  return `${parts.join('\n').trimEnd()}\n`;
}

/** Writes BENCHMARKS.md (see `benchmarksMd`). */
export function writeBenchmarksMd(): void {
  writeFileSync(fileURLToPath(new URL('../../BENCHMARKS.md', import.meta.url)), benchmarksMd());
}

// `node bench/dist/benchmarks-md.js` (npm run bench:md): regenerate BENCHMARKS.md from the results, measuring nothing.
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) writeBenchmarksMd();
