import { fork } from 'node:child_process';
import { Socket } from 'node:net';
import { cpus } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Metadata, type Client } from '@grpc/grpc-js';
import { lastValueFrom } from 'rxjs';
import { ALL_OFF, ALL_ON, bidiMesh, bidiRaw, meshContender, nestProxyContender, niceContender, rawContender, type Contender } from './contenders.js';
import { median, timedRound, type RoundResult } from './measure.js';
import { REQUEST, echoService } from './proto.js';
import { writeReport, type Report } from './report.js';

const arg = (name: string, fallback: number): number => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
};
const ROUNDS = arg('rounds', 3);
const ROUND_MS = arg('round-ms', 1500);
const STARTED = performance.now();
const HEAP_CALLS = arg('heap-calls', 1_000_000);
const log = (line: string): void => void process.stderr.write(`${line}\n`);

async function startServer(): Promise<{ target: string; stop: () => void }> {
  const child = fork(fileURLToPath(new URL('./server.js', import.meta.url)), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  return { target: `127.0.0.1:${port}`, stop: () => child.disconnect() };
}

/** Alternates the contenders round by round (A B A B); returns per-contender rounds. */
async function compare(contenders: Contender[], concurrency: number): Promise<Map<string, RoundResult[]>> {
  const results = new Map<string, RoundResult[]>(contenders.map((c) => [c.name, []]));
  for (const c of contenders) await c.around(() => timedRound(() => c.unary(), concurrency, 300)); // warm-up
  for (let r = 0; r < ROUNDS; r++) {
    const order = r % 2 === 0 ? contenders : [...contenders].reverse();
    for (const c of order) results.get(c.name)!.push(await c.around(() => timedRound(() => c.unary(), concurrency, ROUND_MS)));
  }
  return results;
}

/** Median of the per-round ratios of `key` to raw's of the same round. */
function ratio(rounds: RoundResult[], raw: RoundResult[], key: keyof RoundResult): number {
  return median(rounds.map((r, i) => r[key] / raw[i]![key]));
}

async function main(): Promise<void> {
  const server = await startServer();
  const report: Report = {
    machine: { cores: cpus().length, cpu: cpus()[0]?.model ?? '?', node: process.version },
    date: new Date().toISOString(),
    rounds: ROUNDS,
    roundMs: ROUND_MS,
    unary: [],
    other: {},
  };
  const raw = rawContender(server.target);
  const meshAll = await meshContender('mesh, every feature on', server.target, ALL_ON, true);
  const meshOff = await meshContender('mesh, everything off', server.target, ALL_OFF, false);
  const contenders = [raw, meshAll, meshOff, nestProxyContender(server.target), niceContender(server.target)];

  for (const concurrency of [1, 16, 128]) {
    log(`unary c=${String(concurrency)} ...`);
    const results = await compare(contenders, concurrency);
    const rawRounds = results.get(raw.name)!;
    for (const [name, rounds] of results) {
      report.unary.push({
        contender: name,
        concurrency,
        callsPerSec: median(rounds.map((r) => r.callsPerSec)),
        p50Us: median(rounds.map((r) => r.p50Us)),
        p99Us: median(rounds.map((r) => r.p99Us)),
        cpuUsPerCall: median(rounds.map((r) => r.cpuUsPerCall)),
        throughputRatio: ratio(rounds, rawRounds, 'callsPerSec'),
        p50Ratio: ratio(rounds, rawRounds, 'p50Us'),
        cpuRatio: ratio(rounds, rawRounds, 'cpuUsPerCall'),
      });
    }
  }

  log('bidi ...');
  const rawBidi: number[] = [];
  const meshBidi: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    rawBidi.push(await bidiRaw(raw.client, 128, ROUND_MS));
    meshBidi.push(await bidiMesh(meshAll.mesh, 128, ROUND_MS));
  }
  report.other.bidi = { rawMsgsPerSec: median(rawBidi), meshMsgsPerSec: median(meshBidi), ratio: median(meshBidi.map((m, i) => m / rawBidi[i]!)) };

  log('pool 1 vs 4 ...');
  const pool1 = await meshContender('mesh pool 1', server.target, { pool: { size: 1 } }, true);
  const pool4 = await meshContender('mesh pool 4', server.target, { pool: { size: 4 } }, true);
  const pools = await compare([pool1, pool4], 128);
  report.other.pool = {
    pool1CallsPerSec: median(pools.get(pool1.name)!.map((r) => r.callsPerSec)),
    pool4CallsPerSec: median(pools.get(pool4.name)!.map((r) => r.callsPerSec)),
    ratio: ratio(pools.get(pool4.name)!, pools.get(pool1.name)!, 'callsPerSec'),
  };
  await pool1.close();
  await pool4.close();

  log('breaker-open rejection ...');
  report.other.rejection = await measureRejection(server.target, raw);

  log(`heap over ${String(HEAP_CALLS)} calls ...`);
  report.other.heap = await measureHeap(meshAll);

  for (const c of contenders) await c.close();
  server.stop();
  report.elapsedS = (performance.now() - STARTED) / 1000;
  writeReport(report);
}

async function measureRejection(target: string, raw: Contender & { client: Client }): Promise<Report['other']['rejection']> {
  const open = await meshContender('mesh, breaker open', target, { retry: false, breaker: { consecutiveFailures: 1, openMs: 600_000 } }, true);
  await open.around(() => lastValueFrom(open.mesh.unary('Unary', REQUEST, { metadata: { 'x-bench-fail': '1' } })).catch(() => undefined));
  const sockets = (): number =>
    (process as unknown as { _getActiveHandles(): unknown[] })._getActiveHandles().filter((h) => h instanceof Socket).length;
  const servedBefore = await serverCount(raw.client);
  const socketsBefore = sockets();
  const samples = new Float64Array(100_000);
  // warm-up, as for every other measurement
  await open.around(async () => {
    for (let i = 0; i < 10_000; i++) await lastValueFrom(open.mesh.unary('Unary', REQUEST)).catch(() => undefined);
  });
  await open.around(async () => {
    for (let i = 0; i < samples.length; i++) {
      const s = performance.now();
      await lastValueFrom(open.mesh.unary('Unary', REQUEST)).catch(() => undefined);
      samples[i] = (performance.now() - s) * 1000;
    }
  });
  const socketsAfter = sockets();
  const servedAfter = await serverCount(raw.client);
  const sorted = samples.sort();
  const result = {
    p50Us: sorted[50_000]!,
    p99Us: sorted[99_000]!,
    calls: samples.length,
    serverCallsDuring: servedAfter - servedBefore,
    socketsBefore,
    socketsAfter,
    state: open.mesh.breakerState(),
  };
  await open.close();
  return result;
}

/** Calls the server has served so far (the bench server answers x-bench-count with it). */
async function serverCount(client: Client): Promise<number> {
  const def = echoService.Unary!;
  const md = new Metadata();
  md.set('x-bench-count', '1');
  const reply = await new Promise<{ message: string }>((resolve, reject) =>
    client.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize as (b: Buffer) => { message: string }, {}, md, (e, v) =>
      e ? reject(e) : resolve(v!),
    ),
  );
  return Number(reply.message);
}

async function measureHeap(mesh: Contender): Promise<Report['other']['heap']> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) return { skipped: 'run node with --expose-gc' };
  const settle = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setImmediate(r));
    }
    return process.memoryUsage().heapUsed;
  };
  const run = (calls: number): Promise<unknown> =>
    mesh.around(async () => {
      let left = calls;
      await Promise.all(
        Array.from({ length: 128 }, async () => {
          while (left-- > 0) await mesh.unary();
        }),
      );
    });
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
