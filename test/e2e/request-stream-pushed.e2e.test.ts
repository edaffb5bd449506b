import { Metadata } from '@grpc/grpc-js';
import type { TestingModule } from '@nestjs/testing';
import { Observable, Subject, from, lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, isMeshClientError, type MeshClient, type MeshClientOptions } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { createTestApp, echoClient } from '../support/test-app.js';
import { sleep } from '../support/wait.js';

const gc = (): void => (globalThis as { gc?: () => void }).gc!();
const heapMb = (): number => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 1e6;
};
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout' || r === 'Immediate').length;

let callIds = 0;
const failingFirst = (times: number): Metadata => {
  const m = new Metadata();
  m.set('x-test-fail-times', String(times));
  m.set('x-test-call-id', `attack-${String(++callIds)}-${String(Date.now())}`);
  return m;
};

describe('a pushed request stream: the O(1) queue and the 128 KB retry buffer', () => {
  let server: EchoServer;
  let app: TestingModule;
  const clients: Record<string, MeshClient> = {};
  const RETRY = { maxAttempts: 3, initialBackoffMs: 20, maxBackoffMs: 20, budget: false } as const;
  const options: Record<string, Partial<MeshClientOptions>> = {
    plain: { retry: false },
    retrying: { retry: RETRY },
    'buffer-0': { retry: RETRY, channelOptions: { 'grpc.per_rpc_retry_buffer_size': 0 } },
    'buffer-1': { retry: RETRY, channelOptions: { 'grpc.per_rpc_retry_buffer_size': 1 } },
    'buffer-8mb': { retry: RETRY, channelOptions: { 'grpc.per_rpc_retry_buffer_size': 8 * 1024 * 1024 } },
    'buffer-string': { retry: RETRY, channelOptions: { 'grpc.per_rpc_retry_buffer_size': '131072' } },
    'total-1': { retry: RETRY, channelOptions: { 'grpc.retry_buffer_size': 1 } },
    // a call held by its metadata function until released: what the caller pushes meanwhile waits in the queue
    held: { retry: false, metadata: () => held.promise },
  };
  let held: { promise: Promise<Record<string, string>>; release: () => void };
  const hold = (): void => {
    let release!: () => void;
    held = { promise: new Promise((r) => (release = () => r({}))), release };
  };
  hold();

  beforeAll(async () => {
    server = await startEchoServer({ maxMessageBytes: 16 * 1024 * 1024 });
    app = await createTestApp({
      clients: Object.entries(options).map(([name, extra]) => echoClient(server.target, { name, maxMessageBytes: 16 * 1024 * 1024, ...extra })),
    });
    for (const name of Object.keys(options)) clients[name] = app.get(MeshClientRegistry).get(name);
  });
  afterAll(async () => {
    held.release();
    await app.close();
    await server.stop();
  });

  it('a bidi stream of 60,000 pushed messages: every response, in order (holds)', async () => {
    const messages = Array.from({ length: 60_000 }, (_, i) => ({ message: String(i) }));
    const replies = await lastValueFrom(
      clients.plain!.bidiStream<EchoRequest, EchoReply>('Bidi', from(messages), { timeoutMs: 50_000 }).pipe(toArray()),
    );
    expect(replies).toHaveLength(60_000);
    expect(replies.every((r, i) => r.message === String(i) && r.index === i)).toBe(true);
  }, 55_000);

  it('a stream that pushes while it is drained (bursts from setImmediate, and inside the drain): every message once, in order (holds)', async () => {
    const subject = new Subject<EchoRequest>();
    let n = 0;
    const burst = (count: number): void => {
      for (let i = 0; i < count; i++) subject.next({ message: String(n++) });
    };
    const result = lastValueFrom(clients.plain!.clientStream<EchoRequest, EchoReply>('ClientStream', subject, { timeoutMs: 50_000 }));
    burst(20_000);
    await new Promise<void>((resolve) => {
      const more = (): void => {
        burst(997);
        if (n < 60_000) setImmediate(more);
        else resolve();
      };
      setImmediate(more);
    });
    subject.complete();
    const reply = await result;
    expect(reply.received).toBe(n);
    expect(reply.message).toBe(Array.from({ length: n }, (_, i) => String(i)).join(','));
  }, 55_000);

  it('a bidi stream fed by its own responses (each reply pushes two more, from inside the response callback): every reply once, in order (holds)', async () => {
    const subject = new Subject<EchoRequest>();
    let n = 0;
    const push = (): void => subject.next({ message: String(n++) });
    const seen: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      clients.plain!.bidiStream<EchoRequest, EchoReply>('Bidi', subject, { timeoutMs: 50_000 }).subscribe({
        next: (reply) => {
          seen.push(reply.message);
          if (n < 30_000) {
            push();
            push();
          } else if (seen.length === n) subject.complete();
        },
        error: reject,
        complete: resolve,
      });
    });
    for (let i = 0; i < 500; i++) push();
    await done;
    expect(seen).toHaveLength(n);
    expect(seen.every((m, i) => m === String(i))).toBe(true);
  }, 55_000);

  it('a retried client stream under the replay buffer (200 pushed messages, the first attempt failed): all of them, once, in order (holds)', async () => {
    const messages = Array.from({ length: 200 }, (_, i) => ({ message: String(i) }));
    const reply = await lastValueFrom(
      clients.retrying!.clientStream<EchoRequest, EchoReply>('ClientStream', from(messages), { metadata: failingFirst(1) }),
    );
    expect(reply.received).toBe(200);
    expect(reply.message).toBe(messages.map((m) => m.message).join(','));
  });

  it('a client stream of 5,000 pushed messages whose first attempt failed: all of them in order, or a failure; never a partial stream answered', async () => {
    const messages = Array.from({ length: 5_000 }, (_, i) => ({ message: String(i) }));
    const outcome = await lastValueFrom(
      clients.retrying!.clientStream<EchoRequest, EchoReply>('ClientStream', from(messages), { metadata: failingFirst(1) }),
    ).catch((e: unknown) => e);
    if (isMeshClientError(outcome)) expect(outcome.codeName).toBe('UNAVAILABLE');
    else expect(outcome).toMatchObject({ received: 5_000, message: messages.map((m) => m.message).join(',') });
  });

  it('the server down at first, then up: a 5,000-message pushed stream written into attempts that never connected is sent whole, in order (holds)', async () => {
    const down = await startEchoServer();
    const port = down.port;
    await down.stop();
    const late = await createTestApp({
      clients: [
        echoClient(`127.0.0.1:${String(port)}`, { name: 'late', retry: { maxAttempts: 5, initialBackoffMs: 600, maxBackoffMs: 600, budget: false } }),
      ],
    });
    let up: EchoServer | undefined;
    try {
      const messages = Array.from({ length: 5_000 }, (_, i) => ({ message: String(i) }));
      const call = lastValueFrom(
        late.get(MeshClientRegistry).get('late').clientStream<EchoRequest, EchoReply>('ClientStream', from(messages), { timeoutMs: 10_000 }),
      ).catch((e: unknown) => e);
      await sleep(100);
      up = await startEchoServer({ port });
      const outcome = await call;
      // retried past grpc-js's reconnect backoff: the whole stream, replayed from its first message
      expect(isMeshClientError(outcome) ? outcome.message : outcome).toMatchObject({
        received: 5_000,
        message: messages.map((m) => m.message).join(','),
      });
    } finally {
      await late.close();
      await up?.stop();
    }
  });

  it('cancelled mid-drain (300,000 pushed at once): the source is let go of, the server hears the cancel, no timer is left, the queued messages are freed', async () => {
    await sleep(50);
    const before = timers();
    let tornDown = false;
    let last: WeakRef<object> | undefined;
    const source = new Observable<EchoRequest>((subscriber) => {
      for (let i = 0; i < 300_000 && !subscriber.closed; i++) {
        const message = { message: `m${String(i)}`, payload: Buffer.alloc(16) };
        if (i === 299_999) last = new WeakRef(message);
        subscriber.next(message);
      }
      return () => (tornDown = true);
    });
    const cancelled = server.nextCancellation();
    const subscription = clients
      .plain!.clientStream<EchoRequest, EchoReply>('ClientStream', source, { timeoutMs: 50_000 })
      .subscribe({ error: () => undefined });
    await sleep(300);
    subscription.unsubscribe();
    expect(await Promise.race([cancelled, sleep(3000).then(() => 'none')])).toBe('ClientStream');
    expect(tornDown).toBe(true);
    await sleep(100);
    gc();
    expect(last?.deref()).toBeUndefined();
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('1,000,000 messages pushed while the call waits: the queue costs about what the messages do, and all of it is freed when the call is cancelled', async () => {
    hold();
    const base = heapMb();
    const source = new Observable<EchoRequest>((subscriber) => {
      for (let i = 0; i < 1_000_000; i++) subscriber.next({ message: 'x' });
    });
    const subscription = clients
      .held!.clientStream<EchoRequest, EchoReply>('ClientStream', source, { timeoutMs: 50_000 })
      .subscribe({ error: () => undefined });
    const queued = heapMb() - base;
    subscription.unsubscribe();
    held.release();
    await sleep(50);
    const after = heapMb() - base;
    // a { message } object is ~30 bytes, its slot in the queue 8: 1M of them well under 100 MB
    expect(queued).toBeGreaterThan(10);
    expect(queued).toBeLessThan(100);
    expect(after).toBeLessThan(10);
  });

  it('1,000,000 messages pushed, then drained for 3 s and cancelled: memory goes back (the compacted queue keeps nothing)', async () => {
    const base = heapMb();
    const source = new Observable<EchoRequest>((subscriber) => {
      for (let i = 0; i < 1_000_000 && !subscriber.closed; i++) subscriber.next({ message: 'y' });
    });
    const subscription = clients
      .plain!.clientStream<EchoRequest, EchoReply>('ClientStream', source, { timeoutMs: 50_000 })
      .subscribe({ error: () => undefined });
    await sleep(3000);
    subscription.unsubscribe();
    await sleep(100);
    expect(heapMb() - base).toBeLessThan(10);
  }, 30_000);

  it.each([
    ['just under 128 KB', 128 * 1024 - 64],
    ['just over 128 KB', 128 * 1024 + 64],
    ['1 MB', 1024 * 1024],
    ['4 MB', 4 * 1024 * 1024],
  ])('a unary request %s, failed UNAVAILABLE twice by the server: retried by the library, answered whole (holds)', async (_what, size) => {
    const message = 'z'.repeat(size);
    const calls = server.calls.length;
    const reply = await lastValueFrom(clients.retrying!.unary<EchoRequest, EchoReply>('Unary', { message }, { metadata: failingFirst(2) }));
    expect(reply.message.length).toBe(size);
    expect(reply.message === message).toBe(true);
    expect(server.calls.length - calls).toBe(3);
  });

  it.each(['buffer-0', 'buffer-1', 'buffer-8mb', 'buffer-string', 'total-1'])(
    "channelOptions '%s' over the 128 KB default: unary (200 KB, retried) and a 2,000-message pushed stream still work (holds)",
    async (name) => {
      const message = 'q'.repeat(200 * 1024);
      const reply = await lastValueFrom(clients[name]!.unary<EchoRequest, EchoReply>('Unary', { message }, { metadata: failingFirst(1) }));
      expect(reply.message === message).toBe(true);
      const messages = Array.from({ length: 2_000 }, (_, i) => ({ message: String(i) }));
      const streamed = await lastValueFrom(clients[name]!.clientStream<EchoRequest, EchoReply>('ClientStream', from(messages)));
      expect(streamed).toMatchObject({ received: 2_000, message: messages.map((m) => m.message).join(',') });
    },
  );
});
