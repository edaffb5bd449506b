import { from, type Observable } from 'rxjs';
import type { TestingModule } from '@nestjs/testing';
import { MeshClientRegistry, isMeshClientError, type MeshClient } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from './echo-server.js';
import { seeded } from './errors.js';
import type { EchoReply } from './protos.js';
import { TcpProxy } from './tcp-proxy.js';
import { compositionPlugin } from './composition.js';
import { createTestApp, echoClient } from './test-app.js';

/** What a chaos run found. */
export interface ChaosResult {
  calls: number;
  settled: number;
  late: number;
  hung: number;
  wrong: number;
  seed: number;
  /** Everything that broke an invariant, one line each (the first 20). */
  violations: string[];
  /** Line to print last. */
  summary: string;
  /** Outcomes by category ('ok' for successes), for the record. */
  outcomes: Record<string, number>;
}

const LATE_MS = 100;
const HUNG_MS = 3000;

type Kind = 'unary' | 'server' | 'client' | 'bidi';

interface Backend {
  server: EchoServer;
  proxy: TcpProxy;
  port: number;
}

/** Active handles of the process by type. */
function handleCounts(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

/** One call of the schedule, with the answer it must get if it succeeds. */
function planCall(
  rand: () => number,
  i: number,
): {
  kind: Kind;
  timeoutMs: number;
  metadata: Record<string, string>;
  run: (c: MeshClient, md: { timeoutMs: number; metadata: Record<string, string> }) => Observable<EchoReply>;
  check: (replies: EchoReply[]) => boolean;
} {
  const r = rand();
  const kind: Kind = r < 0.5 ? 'unary' : r < 0.7 ? 'server' : r < 0.85 ? 'client' : 'bidi';
  const timeoutMs = Math.round(50 + rand() * 1950);
  const metadata: Record<string, string> = {};
  const f = rand();
  if (f < 0.1) metadata['x-test-status'] = '14';
  else if (f < 0.15) metadata['x-test-status'] = '13';
  else if (f < 0.2) {
    metadata['x-test-status'] = '8';
    metadata['x-test-pushback-ms'] = String(Math.round(rand() * 100));
  } else if (f < 0.3) metadata['x-test-delay-ms'] = String(Math.round(rand() * 2500));
  const msg = `m${String(i)}`;
  const n = 1 + Math.floor(rand() * 4);
  const words = Array.from({ length: n }, (_, k) => `${msg}.${String(k)}`);
  switch (kind) {
    case 'unary':
      return {
        kind,
        timeoutMs,
        metadata,
        run: (c, o) => c.unary('Unary', { message: msg }, o),
        check: (rs) => rs.length === 1 && rs[0]!.message === msg,
      };
    case 'server':
      return {
        kind,
        timeoutMs,
        metadata,
        run: (c, o) => c.serverStream('ServerStream', { message: msg, count: n }, o),
        check: (rs) => rs.length === n && rs.every((x, k) => x.index === k && x.message === msg),
      };
    case 'client':
      return {
        kind,
        timeoutMs,
        metadata,
        run: (c, o) => c.clientStream('ClientStream', from(words.map((w) => ({ message: w }))), o),
        check: (rs) => rs.length === 1 && rs[0]!.message === words.join(','),
      };
    case 'bidi':
      return {
        kind,
        timeoutMs,
        metadata,
        run: (c, o) => c.bidiStream('Bidi', from(words.map((w) => ({ message: w }))), o),
        check: (rs) => rs.length === n && rs.every((x, k) => x.message === words[k]),
      };
  }
}

/** Injects one random fault into one random backend, and undoes it a little later. */
async function injectFault(rand: () => number, backends: Backend[], stopped: () => boolean): Promise<void> {
  const b = backends[Math.floor(rand() * backends.length)]!;
  const f = rand();
  const hold = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
  if (f < 0.25) {
    b.proxy.blackhole = true;
    await hold(300);
    b.proxy.blackhole = false;
  } else if (f < 0.5) {
    b.proxy.resetAll();
  } else if (f < 0.75) {
    b.proxy.refuse();
    await hold(300);
    if (!stopped()) await b.proxy.reopen();
  } else {
    await b.server.stop();
    await hold(400);
    b.server = await startEchoServer({ port: b.port });
  }
}

/**
 * The chaos run: 3 backends, each behind a fault proxy; three clients of them (round_robin with
 * retry and breaker; hedged unary calls through a fixed concurrency limit and its queue; an
 * adaptive limit), under plugins that delay, fault, replay, hang or fail a few attempts; a seeded schedule of the four call kinds with deadlines of 50 ms .. 2 s and steered failures,
 * while faults hit the backends (blackhole, reset, refuse, kill and restart). Every call must
 * settle (value or MeshClientError) by its deadline + 100 ms, and a success must be the right
 * answer; nothing may be thrown unhandled; after `app.close()` (and the backends' shutdown) no
 * socket, server or timer is left that was not there before the run.
 */
export async function runChaos(calls: number, seed: number, concurrency = 32): Promise<ChaosResult> {
  const rand = seeded(seed);
  const faults = seeded(seed ^ 0x5bd1e995);
  const violations: string[] = [];
  const unhandled = (e: unknown): void => void violations.push(`unhandled: ${String(e)}`);
  process.on('unhandledRejection', unhandled);
  process.on('uncaughtException', unhandled);
  const handlesBefore = handleCounts();
  const backends: Backend[] = [];
  for (let i = 0; i < 3; i++) {
    const server = await startEchoServer();
    backends.push({ server, proxy: await new TcpProxy(server.port).start(), port: server.port });
  }
  const target = `ipv4:${backends.map((b) => b.proxy.target).join(',')}`;
  // plugins that slow, fail, fault, hang or replay a few attempts (never change an answer)
  const hooks = { before: 0, after: 0 };
  const plugins = (['delay-before', 'fault', 'replay', 'hang-before', 'throw-before'] as const).map((b, i) =>
    compositionPlugin(i, b, b === 'hang-before' || b === 'throw-before' ? 0.002 : 0.03, seed, hooks),
  );
  const resilient = {
    loadBalancing: 'round_robin' as const,
    retry: { initialBackoffMs: 20, maxBackoffMs: 200 },
    breaker: { minimumCalls: 50, openMs: 300 },
    connectTimeoutMs: 300,
    drainTimeoutMs: 200,
  };
  const app: TestingModule = await createTestApp({
    plugins,
    clients: [
      echoClient(target, resilient),
      // hedged unary calls through a fixed limit with its queue
      echoClient(target, {
        ...resilient,
        name: 'echo-hedged',
        methods: { Unary: { idempotent: true, hedging: { maxAttempts: 3, delayMs: 40 } } },
        concurrency: { limit: 8, maxQueue: 64 },
      }),
      // an adaptive limit learning from every answer
      echoClient(target, { ...resilient, name: 'echo-adaptive', concurrency: { limit: { adaptive: { initial: 8, min: 3, max: 32 } } } }),
    ],
  });
  const registry = app.get(MeshClientRegistry);
  const clients = ['echo', 'echo-hedged', 'echo-adaptive'].map((name) => registry.get(name));
  let settled = 0;
  let late = 0;
  let hung = 0;
  let wrong = 0;
  let next = 0;
  let done = false;
  const outcomes: Record<string, number> = {};
  const count = (key: string): void => void (outcomes[key] = (outcomes[key] ?? 0) + 1);
  const chaos = (async () => {
    while (!done) {
      await new Promise((r) => setTimeout(r, 100 + faults() * 200));
      if (!done) await injectFault(faults, backends, () => done);
    }
  })();
  const worker = async (): Promise<void> => {
    while (next < calls) {
      const i = next++;
      const plan = planCall(rand, i);
      const started = performance.now();
      const replies: EchoReply[] = [];
      const outcome = await new Promise<'ok' | 'error' | 'hung'>((resolve) => {
        // errors may arrive synchronously (an open breaker rejects at subscription)
        let watchdog: NodeJS.Timeout | undefined;
        const client = clients[i % clients.length]!;
        const sub = plan.run(client, { timeoutMs: plan.timeoutMs, metadata: plan.metadata }).subscribe({
          next: (r) => replies.push(r),
          error: (e: unknown) => {
            clearTimeout(watchdog);
            count(isMeshClientError(e) ? e.category : 'other');
            if (!isMeshClientError(e)) violations.push(`call ${String(i)} (${plan.kind}) failed with a non-MeshClientError: ${String(e)}`);
            resolve('error');
          },
          complete: () => {
            clearTimeout(watchdog);
            count('ok');
            resolve('ok');
          },
        });
        if (!sub.closed) {
          watchdog = setTimeout(() => {
            sub.unsubscribe();
            resolve('hung');
          }, plan.timeoutMs + HUNG_MS);
        }
      });
      const took = performance.now() - started;
      if (outcome === 'hung') {
        hung++;
        violations.push(`call ${String(i)} (${plan.kind}, deadline ${String(plan.timeoutMs)} ms) never settled`);
        continue;
      }
      settled++;
      if (took > plan.timeoutMs + LATE_MS) {
        late++;
        violations.push(`call ${String(i)} (${plan.kind}) settled after ${took.toFixed(0)} ms, deadline ${String(plan.timeoutMs)} ms`);
      }
      if (outcome === 'ok' && (plan.metadata['x-test-status'] !== undefined || !plan.check(replies))) {
        wrong++;
        violations.push(
          `call ${String(i)} (${plan.kind}) succeeded with a wrong answer: ${JSON.stringify(replies.map((r) => [r.message, r.index]))}`,
        );
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  done = true;
  for (const client of clients) {
    const limit = client.concurrency;
    if (limit && (limit.active !== 0 || limit.waiting !== 0))
      violations.push(
        `client '${client.name}': the limit holds ${String(limit.active)} active, ${String(limit.waiting)} waiting after every call ended`,
      );
  }
  if (hooks.before !== hooks.after) violations.push(`beforeAttempt ran ${String(hooks.before)} times, afterAttempt ${String(hooks.after)}`);
  await chaos;
  await app.close();
  for (const b of backends) {
    await b.proxy.stop();
    await b.server.stop();
  }
  await new Promise((r) => setTimeout(r, 200));
  const handlesAfter = handleCounts();
  for (const type of ['TCPSocketWrap', 'TCPServerWrap', 'Timeout']) {
    if ((handlesAfter[type] ?? 0) > (handlesBefore[type] ?? 0)) {
      violations.push(`after close: ${String(handlesAfter[type])} ${type} left, ${String(handlesBefore[type] ?? 0)} before the run`);
    }
  }
  process.off('unhandledRejection', unhandled);
  process.off('uncaughtException', unhandled);
  const summary = `chaos: ${String(calls)} calls, ${String(settled)} settled, ${String(late)} late, ${String(hung)} hung, seed ${String(seed)}`;
  return { calls, settled, late, hung, wrong, seed, violations: violations.slice(0, 20), summary, outcomes };
}
