import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { TestingModule } from '@nestjs/testing';
import { register } from 'prom-client';
import { lastValueFrom, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InjectMeshClient, MeshCallOptions, MeshClientModule, MeshClientRegistry, isMeshClientError, type MeshClient } from '@datapunk/mesh-client';
import { messagesOf, settleOf, summary, useUncaughtCollector } from '../support/call-guards.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import { QueueingServer } from '../support/queueing-server.js';
import { createTestApp, echoClient } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

// Issue #30 "limits that don't limit", each against da6cde0's numbers: an adaptive limit fed by
// NOT_FOUND answers or by server streams stayed at its minimum (3); hedging with every replica
// slow made 1,000 attempts of 200 calls, 50 at once; an open breaker behind a full limit waited
// 2,900 ms; @MeshCallOptions({ retry }) made every call to a hedged method fail 'invalid-request'.
const uncaught = useUncaughtCollector();
const metric = async (name: string, labels: Record<string, string>): Promise<number> => valueOf(parseMetrics(await register.metrics()), name, labels);

describe('limits', () => {
  let server: EchoServer;
  let app: TestingModule;
  const client = (name: string): MeshClient => app.get(MeshClientRegistry).get(name);

  beforeAll(async () => {
    register.clear();
    server = await startEchoServer();
    const adaptive = { retry: false as const, breaker: false as const, concurrency: { limit: { adaptive: { initial: 20, min: 3, max: 200 } } } };
    app = await createTestApp({
      clients: [
        echoClient(server.target, { name: 'not-found', ...adaptive }),
        echoClient(server.target, { name: 'streams', ...adaptive }),
        echoClient(server.target, {
          name: 'full',
          retry: false,
          concurrency: { limit: 2 },
          breaker: { consecutiveFailures: 1, openMs: 30_000, scope: 'method' },
        }),
      ],
    });
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
    register.clear();
  });

  /** 16 callers making `call` one after another until the adaptive limit leaves its minimum (or 8 s). */
  async function loadUntilLimitMoves(name: string, call: () => Observable<unknown>): Promise<number[]> {
    const seen: number[] = [];
    let stop = false;
    const caller = async (): Promise<void> => {
      while (!stop) await lastValueFrom(call()).catch(() => undefined);
    };
    const callers = Array.from({ length: 16 }, caller);
    await eventually(async () => {
      seen.push(await metric('mesh_client_concurrency_limit', { mesh_client: name }));
      return seen.at(-1)! > 3;
    }, 8000);
    stop = true;
    await Promise.all(callers);
    return seen;
  }

  it('an adaptive limit learns from calls answered NOT_FOUND: it does not stay at its minimum while they are answered quickly', async () => {
    const echo = client('not-found');
    const seen = await loadUntilLimitMoves('not-found', () => echo.unary('Unary', {}, { metadata: { 'x-test-status': '5' } }));
    expect(seen[0]).toBe(3);
    expect(seen.at(-1)).toBeGreaterThan(3);
  });

  it('an adaptive limit learns from server streams (their first message): it does not stay at its minimum', async () => {
    const echo = client('streams');
    const seen = await loadUntilLimitMoves('streams', () => echo.serverStream('ServerStream', { count: 1 }));
    expect(seen[0]).toBe(3);
    expect(seen.at(-1)).toBeGreaterThan(3);
  });

  it("an open breaker behind a full limit refuses at once ('circuit-open'), without waiting for a permit", async () => {
    const full = client('full');
    const before = server.calls.length;
    const streams: { unsubscribe(): void }[] = [];
    try {
      streams.push(full.serverStream('ServerStream', { count: -1 }).subscribe({ error: () => undefined }));
      expect(await eventually(() => server.calls.length - before === 1, 3000)).toBe(true);
      // the Unary breaker opens (scope 'method': the streams' stays closed)
      const failed = await settleOf(full.unary('Unary', {}, { metadata: { 'x-test-status': '14' } }), 3000);
      expect(summary(failed)).toMatchObject({ kind: 'error', category: 'unavailable' });
      expect(full.breakerState('Unary')).toBe('open');
      streams.push(full.serverStream('ServerStream', { count: -1 }).subscribe({ error: () => undefined }));
      expect(await eventually(() => server.calls.length - before === 3, 3000)).toBe(true);
      // both permits are held by the streams now
      const refused = await settleOf(full.unary('Unary', {}, { timeoutMs: 3000 }), 5000);
      expect(summary(refused)).toMatchObject({ kind: 'error', category: 'circuit-open' });
      expect(refused.ms).toBeLessThan(300);
      expect(messagesOf(uncaught.errors)).toEqual([]);
    } finally {
      for (const s of streams) s.unsubscribe();
    }
  });
});

describe('hedging under a concurrency limit, every replica slow', () => {
  it('limit 10, maxAttempts 5, 200 calls: the server never sees more than 10 attempts at once, and the copies are bounded by the retry budget', async () => {
    register.clear();
    const model = { baseMs: 100, knee: 10_000, slope: 1 };
    // a server per client: a loser copy of one part may reach its server after that part ended
    const [server, roomServer] = [await new QueueingServer(model).start(), await new QueueingServer(model).start()];
    const app = await createTestApp({
      clients: [
        ...[
          ['hedged', server],
          ['hedged-room', roomServer],
        ].map(([name, backend]) =>
          echoClient((backend as QueueingServer).target, {
            name: name as string,
            breaker: false,
            concurrency: { limit: 10 },
            methods: { Unary: { idempotent: true, hedging: { maxAttempts: 5, delayMs: 10 } } },
          }),
        ),
      ],
    });
    try {
      const hedged = app.get(MeshClientRegistry).get('hedged');
      const outcomes = await Promise.all(Array.from({ length: 200 }, () => settleOf(hedged.unary('Unary', {}, { timeoutMs: 20_000 }), 25_000)));
      const hedges = await metric('mesh_client_hedges_total', { mesh_client: 'hedged' });
      console.log(
        `hedging, every replica slow: 200 calls, ${String(server.calls)} attempts at the server (${String(hedges)} hedged copies), at most ${String(server.maxInflight)} at once`,
      );
      expect(outcomes.map((o) => o.kind)).toEqual(Array.from({ length: 200 }, () => 'complete'));
      expect(server.maxInflight).toBeLessThanOrEqual(10);
      // the default budget (10 tokens, 0.1 back per success): copies stop once half of it is spent
      expect(server.calls).toBeLessThanOrEqual(200 + 50);
      // a copy cancelled as soon as it was sent (another answered) may never reach the handler
      expect(server.calls).toBeLessThanOrEqual(200 + hedges);

      // with room under the limit (2 calls at a time), copies go out until they spent the budget
      const room = app.get(MeshClientRegistry).get('hedged-room');
      for (let wave = 0; wave < 20; wave++) {
        const pair = await Promise.all([1, 2].map(() => settleOf(room.unary('Unary', {}, { timeoutMs: 20_000 }), 25_000)));
        expect(pair.map((o) => o.kind)).toEqual(['complete', 'complete']);
      }
      const copies = await metric('mesh_client_hedges_total', { mesh_client: 'hedged-room' });
      console.log(
        `hedging with room, 20 waves of 2 calls: ${String(roomServer.calls)} attempts (${String(copies)} copies), at most ${String(roomServer.maxInflight)} at once`,
      );
      expect(roomServer.maxInflight).toBeLessThanOrEqual(10);
      expect(roomServer.calls).toBeLessThanOrEqual(40 + copies);
      expect(roomServer.calls).toBeGreaterThan(40);
      // 5 copies a call without a budget (200 attempts); the budget stops them after about half its 10 tokens (+0.1 per success)
      expect(copies).toBeGreaterThan(0);
      expect(copies).toBeLessThanOrEqual(20);
    } finally {
      await app.close();
      server.stop();
      roomServer.stop();
      register.clear();
    }
  }, 40_000);
});

@Controller()
class HedgedController {
  constructor(@InjectMeshClient('hedged') private readonly hedged: MeshClient) {}

  @Get('hedged')
  @MeshCallOptions({ retry: { maxAttempts: 2 } })
  call(): Promise<unknown> {
    return lastValueFrom(this.hedged.unary('Unary', { message: 'from-handler' })).then(
      (reply) => ({ reply }),
      (e: unknown) => ({ category: isMeshClientError(e) ? e.category : 'not a MeshClientError', message: (e as Error).message }),
    );
  }
}

describe('@MeshCallOptions({ retry }) on a handler calling a hedged method', () => {
  let server: EchoServer;
  let app: INestApplication;

  beforeAll(async () => {
    server = await startEchoServer({ delayMs: 300 }); // every answer slow: copies go out
    const hedging = { Unary: { idempotent: true, hedging: { maxAttempts: 3, delayMs: 50 } } };
    @Module({
      imports: [MeshClientModule.forRoot({ clients: [echoClient(server.target, { name: 'hedged', methods: hedging })] })],
      controllers: [HedgedController],
    })
    class HedgedModule {}
    app = await NestFactory.create(HedgedModule, { logger: false });
    await app.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  it('leaves hedging in charge: the call succeeds, and hedges', async () => {
    const before = server.calls.length;
    const res = await fetch(`${await app.getUrl()}/hedged`);
    expect(await res.json()).toMatchObject({ reply: { message: 'from-handler' } });
    expect(server.calls.length - before).toBeGreaterThanOrEqual(2);
  });
});
