import { execFileSync } from 'node:child_process';
import { Socket } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Metadata, type Client } from '@grpc/grpc-js';
import { lastValueFrom } from 'rxjs';
import type { MeshClientOptions } from '@datapunk/mesh-client';
import { alternate, majorGcsOf, orderOf, ratioOf, ratioOfSeries, relative, summedRatio, summedRelative, type Paired } from './compare.js';
import { NAMES, PAIRS } from './names.js';
import {
  ALL_OFF,
  ALL_ON,
  NOOP_PLUGIN,
  bidiMesh,
  bidiRaw,
  meshContender,
  nestProxyContender,
  niceContender,
  rawContender,
  rawDeadlineContender,
  rawSameWireContender,
  standaloneCls,
  type BidiContender,
  type Contender,
} from './contenders.js';
import { wideEchoProto } from './generated-protos.js';
import { CPU_MEASURE, median } from './measure.js';
import { underFullGc } from './full-gc.js';
import { ownAffinity, pinning } from './pinning.js';
import { ECHO_PROTO, REQUEST, echoService } from './proto.js';
import { writeReport, type GroupRow, type Report, type UnaryRow } from './report.js';
import { startServer } from './server-process.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const value = Number(process.argv[i + 1]);
  if (!Number.isInteger(value) || value < 0) throw new Error(`--${name} takes a whole number, got '${String(process.argv[i + 1])}'`);
  return value;
};
const only = ((): Set<string> | undefined => {
  const i = process.argv.indexOf('--only');
  return i >= 0 ? new Set(process.argv[i + 1]!.split(',')) : undefined;
})();
const runs = (section: string): boolean => !only || only.has(section);
/** `--concurrency 128` or `--concurrency 1,16`: the unary concurrencies (default 1, 16, 128). */
const CONCURRENCIES = ((): number[] => {
  const i = process.argv.indexOf('--concurrency');
  return i >= 0 ? process.argv[i + 1]!.split(',').map(Number) : [1, 16, 128];
})();
/** `--skip nest,nice,off,plugin`: leave contenders out of the unary table (quicker runs while working). */
const SKIP = new Set(
  ((): string[] => {
    const i = process.argv.indexOf('--skip');
    return i >= 0 ? process.argv[i + 1]!.split(',') : [];
  })(),
);
const ROUNDS = arg('rounds', 31);
/** `--scaling-rounds 31`: rounds for the scaling groups alone (default: `--rounds`), so that a long run for the A/A stays affordable. */
const SCALING_ROUNDS = arg('scaling-rounds', ROUNDS);
/** `--bidi-rounds 121`: rounds of the bidi section (default: `--rounds`): its A/A spreads far wider than the unary rows'. */
const BIDI_ROUNDS = arg('bidi-rounds', ROUNDS);
const ROUND_MS = arg('round-ms', 400);
const HEAP_CALLS = arg('heap-calls', 1_000_000);
/** Rounds of the c=1 rounds under a full GC before every slice (default: `--scaling-rounds`). */
const FULL_GC_ROUNDS = arg('full-gc-rounds', SCALING_ROUNDS);
const STARTED = performance.now();
const log = (line: string): void => void process.stderr.write(`${line}\n`);

/** Before each round: garbage collected on both sides (set once the raw client exists). */
let settle: () => Promise<void> = async () => undefined;

async function main(): Promise<void> {
  const server = await startServer();
  const pin = pinning();
  const report: Report = {
    machine: {
      cores: cpus().length,
      cpu: cpus()[0]?.model ?? '?',
      node: process.version,
      cpuMeasure: CPU_MEASURE,
      pinning: pin ? `client on core ${ownAffinity()}, server on core ${String(pin.server)} (taskset)` : 'not pinned',
    },
    date: new Date().toISOString(),
    commit: measuredCommit(),
    rounds: ROUNDS,
    ...((globalThis as { gc?: unknown }).gc ? { settle: 'scavenge' as const } : {}),
    ...(SCALING_ROUNDS === ROUNDS ? {} : { scalingRounds: SCALING_ROUNDS }),
    ...(BIDI_ROUNDS === ROUNDS ? {} : { bidiRounds: BIDI_ROUNDS }),
    roundMs: ROUND_MS,
    unary: [],
    groups: [],
    other: {},
  };
  const raw = rawContender(server.target);
  const control = rawContender(server.target, NAMES.control);
  // the young generation only: a full GC per slice drops optimized code ten times as often as the
  // natural ones do (the full-GC section measures c=1 that way too)
  settle = settleBy(raw.client, 'minor');

  if (runs('unary')) {
    const contenders: Contender[] = [raw, control];
    if (!SKIP.has('wire')) contenders.push(rawSameWireContender(server.target), rawSameWireContender(server.target, standaloneCls()));
    contenders.push(await meshContender(NAMES.all, server.target, ALL_ON, true));
    if (!SKIP.has('request')) contenders.push(await meshContender(NAMES.request, server.target, ALL_ON, true, {}, true));
    if (!SKIP.has('plugin')) contenders.push(await meshContender(NAMES.plugin, server.target, { plugins: [NOOP_PLUGIN] }, true));
    if (!SKIP.has('off')) contenders.push(await meshContender(NAMES.off, server.target, ALL_OFF, false), rawDeadlineContender(server.target));
    if (!SKIP.has('nest')) contenders.push(nestProxyContender(server.target));
    if (!SKIP.has('nice')) contenders.push(niceContender(server.target));
    for (const concurrency of CONCURRENCIES) {
      log(`unary c=${String(concurrency)} ...`);
      const results = await alternate(contenders, concurrency, ROUNDS, ROUND_MS, settle);
      report.unary.push(...unaryRows(results, concurrency));
      const all = results.get(NAMES.all)!;
      if (results.has(NAMES.plugin)) (report.plugin ??= []).push({ concurrency, cpu: relative(results.get(NAMES.plugin)!, all, 'cpuUsPerCall') });
      for (const [pair, { of, to, key }] of Object.entries(PAIRS) as [keyof typeof PAIRS, (typeof PAIRS)[keyof typeof PAIRS]][]) {
        const a = results.get(of);
        const b = results.get(to);
        if (a && b)
          (report.pairs ??= []).push({
            pair,
            concurrency,
            ratio: relative(a, b, key),
            ...(key === 'cpuUsPerCall' && { summed: summedRelative(a, b) }),
          });
      }
      if (concurrency === 128 && results.has(NAMES.nest)) report.versusNest = relative(all, results.get(NAMES.nest)!, 'callsPerSec');
    }
    for (const c of contenders.slice(2)) await c.close();
  }

  if (runs('bidi')) {
    log('bidi ...');
    const mesh = await meshContender(NAMES.all, server.target, ALL_ON, false);
    report.other.bidi = await compareBidi([bidiRaw(raw.client), bidiRaw(control.client, NAMES.control), bidiMesh(mesh.mesh)]);
    await mesh.close();
  }

  if (runs('scaling')) {
    log('scaling: pool sizes ...');
    report.groups.push(
      await group(
        'Channel pool, c=128',
        128,
        raw,
        server.target,
        [1, 4, 16].map((size): Variant => [`pool ${String(size)}`, { pool: { size } }]),
      ),
    );
    log('scaling: clients ...');
    const others = (n: number): MeshClientOptions[] =>
      Array.from({ length: n }, (_, i) => ({
        name: `other${String(i)}`,
        target: server.target,
        insecure: true,
        proto: { path: ECHO_PROTO, package: 'mesh.test', service: 'Echo' },
      }));
    report.groups.push(
      await group('Clients in the module, c=16', 16, raw, server.target, [
        ['1 client', {}],
        ['100 clients', {}, { clients: others(99) }],
      ]),
    );
    log('scaling: methods ...');
    report.groups.push(
      await group('Methods in the service, c=16', 16, raw, server.target, [
        ['4 methods', {}],
        ['200 methods', { proto: { path: wideEchoProto(200), package: 'mesh.test', service: 'Echo' } }],
      ]),
    );
    log('scaling: metadata ...');
    const entries = (n: number): Record<string, string> =>
      Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-bench-${String(i)}`, `value-${String(i)}`]));
    report.groups.push(
      await group('Client metadata entries, c=16', 16, raw, server.target, [
        ['0 entries', {}],
        ['1 entry', { metadata: entries(1) }],
        ['5 entries', { metadata: entries(5) }],
      ]),
    );
  }

  if (runs('startup')) {
    log('start-up ...');
    report.other.startup = [1, 10, 100].map((clients) => {
      const samples = [0, 1, 2].map(() => startupOnce(clients));
      return { clients, ms: median(samples.map((s) => s.ms)), heapMb: median(samples.map((s) => s.heapMb)) };
    });
  }

  if (runs('rejection')) {
    log('rejections ...');
    report.other.rejection = await measureRejections(server.target, raw.client);
  }

  if (runs('fullgc') && FULL_GC_ROUNDS > 0 && (globalThis as { gc?: unknown }).gc) {
    log('unary c=1 under a full GC before every slice ...');
    const contenders = [
      raw,
      control,
      rawSameWireContender(server.target, standaloneCls()),
      await meshContender(NAMES.all, server.target, ALL_ON, true),
      await meshContender(NAMES.off, server.target, ALL_OFF, false),
      rawDeadlineContender(server.target),
    ];
    report.other.fullGc = await underFullGc(contenders, FULL_GC_ROUNDS, ROUND_MS, settleBy(raw.client, 'major'));
    for (const c of contenders.slice(2)) await c.close();
  }

  if (runs('heap') && HEAP_CALLS > 0) {
    log(`heap over ${String(HEAP_CALLS)} calls ...`);
    const mesh = await meshContender(NAMES.all, server.target, ALL_ON, true);
    report.other.heap = await measureHeap(mesh);
    await mesh.close();
  }

  await raw.close();
  await control.close();
  server.stop();
  report.elapsedS = (performance.now() - STARTED) / 1000;
  // Only a run of every section with at least the default rounds regenerates BENCHMARKS.md's tables.
  const partial =
    only !== undefined ||
    SKIP.size > 0 ||
    CONCURRENCIES.length < 3 ||
    ROUNDS < 31 ||
    SCALING_ROUNDS < 31 ||
    BIDI_ROUNDS < 31 ||
    FULL_GC_ROUNDS < 31 ||
    HEAP_CALLS < 1_000_000;
  writeReport(report, partial);
}

function unaryRows(results: Map<string, Paired>, concurrency: number): UnaryRow[] {
  return [...results].map(([contender, paired]) => ({
    contender,
    concurrency,
    callsPerSec: median(paired.rounds.map((r) => r.callsPerSec)),
    p50Us: median(paired.rounds.map((r) => r.p50Us)),
    p99Us: median(paired.rounds.map((r) => r.p99Us)),
    cpuUsPerCall: median(paired.rounds.map((r) => r.cpuUsPerCall)),
    throughput: ratioOf(paired, 'callsPerSec'),
    cpu: ratioOf(paired, 'cpuUsPerCall'),
    processCpu: ratioOf(paired, 'processCpuUsPerCall'),
    cpuSummed: summedRatio(paired),
    majorGcs: majorGcsOf(paired),
  }));
}

type Variant = [name: string, options: Partial<MeshClientOptions>, module?: Parameters<typeof meshContender>[4]];

/** Variants of the mesh client (every feature on, context per call) against raw, alternated. */
async function group(
  title: string,
  concurrency: number,
  raw: Contender,
  target: string,
  variants: Variant[],
): Promise<{ title: string; rows: GroupRow[] }> {
  const meshes = [];
  for (const [name, options, module] of variants) meshes.push(await meshContender(name, target, options, true, module));
  const results = await alternate([raw, ...meshes], concurrency, SCALING_ROUNDS, Math.min(ROUND_MS, 1000), settle);
  const first = results.get(variants[0]![0])!;
  for (const m of meshes) await m.close();
  return {
    title,
    rows: variants.map(([name]) => {
      const paired = results.get(name)!;
      return {
        variant: name,
        cpuUsPerCall: median(paired.rounds.map((r) => r.cpuUsPerCall)),
        cpuVsRaw: ratioOf(paired, 'cpuUsPerCall'),
        cpuVsFirst: relative(paired, first, 'cpuUsPerCall'),
        callsPerSec: median(paired.rounds.map((x) => x.callsPerSec)),
        throughputVsFirst: relative(paired, first, 'callsPerSec'),
      };
    }),
  };
}

/** Bidi streams against the first contender, in blocks of four slices (A B B A) like the unary rounds. */
async function compareBidi(contenders: BidiContender[]): Promise<NonNullable<Report['other']['bidi']>> {
  const [base, ...others] = contenders as [BidiContender, ...BidiContender[]];
  const rates = new Map<string, { mine: number[]; theirs: number[] }>(contenders.map((c) => [c.name, { mine: [], theirs: [] }]));
  for (const c of contenders) await c.run(128, 300);
  for (let r = 0; r < BIDI_ROUNDS; r++) {
    for (const c of orderOf(others, r)) {
      const sum = new Map<BidiContender, number>([
        [base, 0],
        [c, 0],
      ]);
      for (const x of r % 2 ? [c, base, base, c] : [base, c, c, base]) {
        await settle();
        sum.set(x, sum.get(x)! + (await x.run(128, ROUND_MS / 2)) / 2);
      }
      rates.get(c.name)!.mine.push(sum.get(c)!);
      rates.get(c.name)!.theirs.push(sum.get(base)!);
      rates.get(base.name)!.mine.push(sum.get(base)!);
    }
  }
  const own = rates.get(base.name)!.mine;
  return [
    { contender: base.name, msgsPerSec: median(own), ratio: { median: 1, min: 1, max: 1 } },
    ...others.map((c) => {
      const { mine, theirs } = rates.get(c.name)!;
      return { contender: c.name, msgsPerSec: median(mine), ratio: ratioOfSeries(mine, theirs) };
    }),
  ];
}

function startupOnce(clients: number): { ms: number; heapMb: number } {
  const script = fileURLToPath(new URL('./startup.js', import.meta.url));
  const out = execFileSync(process.execPath, ['--expose-gc', script, String(clients)], { encoding: 'utf8' });
  return JSON.parse(out.trim().split('\n').at(-1)!) as { ms: number; heapMb: number };
}

/** The commit measured, '+' when the work tree differs from it outside the results (outside git: undefined). */
function measuredCommit(): string | undefined {
  try {
    const git = (...args: string[]): string =>
      execFileSync('git', args, { encoding: 'utf8', cwd: fileURLToPath(new URL('../..', import.meta.url)) }).trim();
    return `${git('rev-parse', '--short', 'HEAD')}${git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!bench/results', ':!BENCHMARKS.md') ? '+' : ''}`;
  } catch {
    return undefined;
  }
}

const sockets = (): number =>
  (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().filter((h) => h instanceof Socket).length;

/**
 * Local rejections: an open breaker, a full concurrency limit, each measured alone (its client set
 * up and connected first). Latency per rejection, and proof that none reached the network: the
 * server's call count and this process's TCP sockets do not move.
 */
async function measureRejections(target: string, client: Client): Promise<NonNullable<Report['other']['rejection']>> {
  const rows = [];
  const breaker = await meshContender('breaker open', target, { retry: false, breaker: { consecutiveFailures: 1, openMs: 600_000 } }, false);
  await lastValueFrom(breaker.mesh.unary('Unary', REQUEST, { metadata: { 'x-bench-fail': '1' } })).catch(() => undefined);
  rows.push(await rejections('breaker open', breaker, client));
  await breaker.close();
  // A limit of 1 with no queue, held by a stream the server never ends, established before measuring.
  const limited = await meshContender('limit full', target, { retry: false, breaker: false, concurrency: { limit: 1, maxQueue: 0 } }, false);
  const holder = new AbortController();
  let established!: () => void;
  const open = new Promise<void>((resolve) => (established = resolve));
  const held = lastValueFrom(
    limited.mesh.serverStream('ServerStream', { count: -1 }, { signal: holder.signal, onHeader: () => established() }),
  ).catch(() => undefined);
  await Promise.race([open, new Promise((r) => setTimeout(r, 2000))]);
  rows.push(await rejections('concurrency limit full', limited, client));
  holder.abort();
  await held;
  await limited.close();
  return rows;
}

async function rejections(kind: string, c: Contender, client: Client): Promise<NonNullable<Report['other']['rejection']>[number]> {
  const servedBefore = await serverCount(client);
  const socketsBefore = sockets();
  const samples = new Float64Array(100_000);
  for (let i = 0; i < 10_000; i++) await c.unary().catch(() => undefined);
  for (let i = 0; i < samples.length; i++) {
    const s = performance.now();
    await c.unary().catch(() => undefined);
    samples[i] = (performance.now() - s) * 1000;
  }
  const sorted = samples.sort();
  return {
    kind,
    calls: samples.length,
    p50Us: sorted[50_000]!,
    p99Us: sorted[99_000]!,
    serverCallsDuring: (await serverCount(client)) - servedBefore,
    socketsBefore,
    socketsAfter: sockets(),
  };
}

/** Calls the server has served so far (the bench server answers x-bench-count with it). */
const serverCount = async (client: Client): Promise<number> => Number(await control(client, 'x-bench-count'));
/** The server collects its garbage: its young generation (`minor`) or all of it. */
const serverGc = (client: Client, type: 'minor' | 'major'): Promise<string> => control(client, 'x-bench-gc', type);

/** Before a slice: both processes collect their young generation (`minor`) or all their garbage, then pause 20 ms. */
const settleBy = (client: Client, type: 'minor' | 'major') => async (): Promise<void> => {
  await serverGc(client, type);
  (globalThis as { gc?: (o: { type: 'minor' | 'major' }) => void }).gc?.({ type });
  await new Promise((r) => setTimeout(r, 20));
};

/** A call the bench server answers itself (x-bench-count, x-bench-gc). */
async function control(client: Client, key: string, value = '1'): Promise<string> {
  const def = echoService.Unary!;
  const md = new Metadata();
  md.set(key, value);
  const reply = await new Promise<{ message: string }>((resolve, reject) =>
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize as (b: Buffer) => { message: string }, {}, md, (e, v) =>
      e ? reject(e) : resolve(v!),
    ),
  );
  return reply.message;
}

async function measureHeap(mesh: Contender): Promise<NonNullable<Report['other']['heap']>> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return { skipped: 'run node with --expose-gc' };
  const settle = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    return process.memoryUsage().heapUsed;
  };
  const run = async (calls: number): Promise<void> => {
    let left = calls;
    await Promise.all(
      Array.from({ length: 128 }, async () => {
        while (left-- > 0) await mesh.unary();
      }),
    );
  };
  await run(50_000);
  const before = await settle();
  const t0 = performance.now();
  await run(HEAP_CALLS);
  const seconds = (performance.now() - t0) / 1000;
  const after = await settle();
  return { calls: HEAP_CALLS, beforeMb: before / 2 ** 20, afterMb: after / 2 ** 20, deltaMb: (after - before) / 2 ** 20, seconds };
}

main().catch((error: unknown) => {
  log(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
