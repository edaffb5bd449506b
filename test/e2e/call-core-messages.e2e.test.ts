import { register } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { isMeshClientError, type MeshClientError } from '@datapunk/mesh-client';
import { messagesOf, settleOf, settlePromise, summary, useUncaughtCollector } from '../support/call-guards.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import type { EchoReply } from '../support/protos.js';
import { useEchoApp } from '../support/test-app.js';

// Issue #30 "messages lost": a server stream writes 100 messages then fails INTERNAL (the Echo
// server's ServerStream with count 100 and x-test-status 13). On da6cde0 iterate() delivered 17 of
// them at highWaterMark 16 and 4 at 1; three next() in flight at once: the earlier ones never settled.
const uncaught = useUncaughtCollector();
const FAILING = { metadata: { 'x-test-status': '13' } };
const WATCHDOG_MS = 8000;
const slowResults: string[] = [];

/** Consumes `iterable` until it ends or throws; `work` runs per message. The watchdog ends a hang. */
async function consume(
  iterable: AsyncIterable<EchoReply>,
  work: () => Promise<void> | void,
): Promise<{ indices: number[]; error: unknown; ended: 'error' | 'done' | 'hung' }> {
  const indices: number[] = [];
  const iterator = iterable[Symbol.asyncIterator]();
  const run = (async () => {
    for (;;) {
      const next = await iterator.next();
      if (next.done) return 'done' as const;
      indices.push(next.value.index);
      await work();
    }
  })();
  const settled = await settlePromise(run, WATCHDOG_MS);
  if (settled.kind === 'hung') void iterator.return?.();
  const ended = settled.kind === 'complete' ? 'done' : settled.kind;
  return { indices, error: settled.kind === 'error' ? settled.error : undefined, ended };
}

const upTo = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Messages the client counted as received on ServerStream (grpc_client_msg_received_total). */
const received = async (): Promise<number> =>
  valueOf(parseMetrics(await register.metrics()), 'grpc_client_msg_received_total', { mesh_client: 'echo', grpc_method: 'ServerStream' });

describe('a server stream of 100 messages that then fails INTERNAL', () => {
  const fx = useEchoApp({ retry: false });
  afterAll(() => {
    // what reaches a slow consumer, for the report (grpc-js drops what it has not handed over: grpc/grpc-node#2764)
    if (slowResults.length > 0) console.log(`slow consumer: ${slowResults.join('; ')}`);
  });

  it('serverStream() delivers the 100 messages, then the error', async () => {
    const settled = await settleOf(fx.echo.serverStream<unknown, EchoReply>('ServerStream', { count: 100 }, FAILING), WATCHDOG_MS);
    expect(summary(settled)).toMatchObject({ kind: 'error', category: 'internal' });
    expect(settled.values.map((r) => r.index)).toEqual(upTo(100));
  });

  it.each([[16], [1]])('iterate() at highWaterMark %i with a consumer that keeps up: all 100 in order, then the MeshClientError', async (hwm) => {
    const { indices, error, ended } = await consume(
      fx.echo.iterate<unknown, EchoReply>('ServerStream', { count: 100 }, { ...FAILING, highWaterMark: hwm }),
      () => undefined,
    );
    expect(ended).toBe('error');
    expect(indices).toEqual(upTo(100));
    expect(isMeshClientError(error)).toBe(true);
    expect((error as MeshClientError).category).toBe('internal');
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });

  it.each([[16], [1]])(
    'iterate() at highWaterMark %i with a slow consumer (3 ms a message): all 100 (what the server sent before it failed fits one HTTP/2 window the client reads ahead), in order, once each; then the error',
    async (hwm) => {
      const before = await received();
      const { indices, error, ended } = await consume(
        fx.echo.iterate<unknown, EchoReply>('ServerStream', { count: 100 }, { ...FAILING, highWaterMark: hwm }),
        () => new Promise<void>((resolve) => setTimeout(resolve, 3)),
      );
      const counted = (await received()) - before;
      slowResults.push(
        `highWaterMark ${String(hwm)}: ${String(indices.length)} of 100 delivered before the error (${String(counted)} counted received)`,
      );
      // every message the client received (and counted) reached the loop
      expect(indices.length).toBe(counted);
      expect(ended).toBe('error');
      // in order, none duplicated, none lost
      expect(indices).toEqual(upTo(100));
      expect((error as MeshClientError).category).toBe('internal');
    },
  );

  it('three next() calls in flight at once on one iterator all settle, in order', async () => {
    const iterator = fx.echo.iterate<unknown, EchoReply>('ServerStream', { count: 2 }, { highWaterMark: 1 })[Symbol.asyncIterator]();
    const order: string[] = [];
    const three = [iterator.next(), iterator.next(), iterator.next()].map((p, i) =>
      p.then((r) => {
        order.push(`#${String(i)} ${r.done ? 'done' : String(r.value.index)}`);
        return r;
      }),
    );
    const settled = await settlePromise(Promise.all(three), WATCHDOG_MS);
    expect(summary(settled)).toEqual({ kind: 'complete' });
    expect(order).toEqual(['#0 0', '#1 1', '#2 done']);
  });

  it('three next() calls in flight on a stream that fails: the messages first, then the error, in order', async () => {
    const iterator = fx.echo.iterate<unknown, EchoReply>('ServerStream', { count: 2 }, { ...FAILING, highWaterMark: 1 })[Symbol.asyncIterator]();
    const order: string[] = [];
    const three = [iterator.next(), iterator.next(), iterator.next()].map((p, i) =>
      p.then(
        (r) => void order.push(`#${String(i)} ${r.done ? 'done' : String(r.value.index)}`),
        (e: unknown) => void order.push(`#${String(i)} ${isMeshClientError(e) ? e.category : 'not a MeshClientError'}`),
      ),
    );
    const settled = await settlePromise(Promise.all(three), WATCHDOG_MS);
    expect(summary(settled)).toEqual({ kind: 'complete' });
    expect(order).toEqual(['#0 0', '#1 1', '#2 internal']);
  });
});
