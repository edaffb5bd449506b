import { inspect } from 'node:util';
import { status } from '@grpc/grpc-js';
import { lastValueFrom, of, toArray } from 'rxjs';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MeshFake, fakeStatus } from '@datapunk/mesh-client/testing';
import { failureOf } from '../support/errors.js';
import { clientOfFake, type FakeClientApp } from '../support/fake-client.js';
import { echoProto, type EchoReply, type EchoRequest } from '../support/protos.js';
import { eventually } from '../support/wait.js';

/** A fake of the Echo service whose handlers answer plainly, and a client of it with fast retries. */
function useEchoFake(): { fake: MeshFake; fx: FakeClientApp } {
  const box = {} as { fake: MeshFake; fx: FakeClientApp };
  beforeAll(async () => {
    box.fake = await MeshFake.start(echoProto, {
      Unary: (req: EchoRequest) => ({ message: req.message ?? '' }),
      ServerStream: (req: EchoRequest) => Array.from({ length: req.count ?? 0 }, (_, index) => ({ index })),
      ClientStream: async (reqs: AsyncIterable<EchoRequest>) => {
        let received = 0;
        for await (const r of reqs) received += r.message ? 1 : 0;
        return { received };
      },
      Bidi: async function* (reqs: AsyncIterable<EchoRequest>) {
        for await (const r of reqs) yield { message: r.message ?? '' };
      },
    });
    box.fx = await clientOfFake(box.fake, { retry: { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 5, budget: false } });
  });
  beforeEach(() => void box.fake.reset());
  afterAll(async () => {
    await box.fx.app.close();
    await box.fake.close();
  });
  return box;
}

const unary = (fx: FakeClientApp, message = 'm', timeoutMs?: number) =>
  lastValueFrom(fx.echo.unary<EchoRequest, EchoReply>('Unary', { message }, timeoutMs === undefined ? {} : { timeoutMs }));

describe('MeshFake scripted faults', () => {
  const box = useEchoFake();

  it('failNext(n, code): the next n calls fail with that code, through the client’s real retry', async () => {
    box.fake.failNext(2, 'UNAVAILABLE');
    expect(await unary(box.fx, 'third time lucky')).toMatchObject({ message: 'third time lucky' });
    const calls = box.fake.calls('Unary');
    expect(calls).toHaveLength(3);
    expect(calls.map((c) => c.metadata['grpc-previous-rpc-attempts'])).toEqual([undefined, '1', '2']);

    box.fake.failNext(3, 'UNAVAILABLE', 'backend restarting');
    const error = await failureOf(unary(box.fx));
    expect(error).toMatchObject({ codeName: 'UNAVAILABLE', details: 'backend restarting', attempts: 3 });
  });

  it('failNext counts calls of any method in arrival order, and queues after failures already scripted', async () => {
    box.fake.failNext(1, 'NOT_FOUND').failNext(1, status.PERMISSION_DENIED);
    await expect(lastValueFrom(box.fx.echo.clientStream('ClientStream', of({ message: 'a' })))).rejects.toMatchObject({ codeName: 'NOT_FOUND' });
    await expect(unary(box.fx)).rejects.toMatchObject({ codeName: 'PERMISSION_DENIED', details: 'MeshFake: scripted failure (failNext)' });
    expect(await unary(box.fx, 'ok')).toMatchObject({ message: 'ok' });
  });

  it('delay(ms, method?): answers wait that long; a method’s own delay wins over the one of every method', async () => {
    box.fake.delay(150).delay(0, 'ServerStream');
    let started = performance.now();
    await unary(box.fx);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    started = performance.now();
    await lastValueFrom(box.fx.echo.serverStream('ServerStream', { count: 1 }));
    expect(performance.now() - started).toBeLessThan(140);
  });

  it('delay() past the deadline: the call fails DEADLINE_EXCEEDED and the fake saw the deadline', async () => {
    box.fake.delay(2000, 'Unary');
    const error = await failureOf(unary(box.fx, 'slow', 200));
    expect(error).toMatchObject({ codeName: 'DEADLINE_EXCEEDED', category: 'timeout' });
    expect(box.fake.lastCall('Unary')!.deadlineLeftMs).toBeGreaterThan(100);
    expect(box.fake.lastCall('Unary')!.deadlineLeftMs).toBeLessThanOrEqual(200);
  });

  it('hang(method?): never answers; the call ends by its deadline and other methods still answer', async () => {
    box.fake.hang('unary');
    const error = await failureOf(unary(box.fx, 'never', 150));
    expect(error.codeName).toBe('DEADLINE_EXCEEDED');
    expect(await lastValueFrom(box.fx.echo.serverStream('ServerStream', { count: 2 }).pipe(toArray()))).toHaveLength(2);
    box.fake.reset();
    expect(await unary(box.fx, 'answered again')).toMatchObject({ message: 'answered again' });
  });

  it('dropConnection(): calls in flight fail UNAVAILABLE, the fake keeps listening and the client reconnects', async () => {
    box.fake.hang('Bidi');
    const inFlight = failureOf(lastValueFrom(box.fx.echo.bidiStream('Bidi', of({ message: 'x' }), { retry: false }), { defaultValue: undefined }));
    expect(await eventually(() => box.fake.calls('Bidi').length === 1, 3000)).toBe(true);
    expect(box.fake.connections).toBe(1);
    await box.fake.dropConnection();
    expect(box.fake.connections).toBe(0);
    const error = await inFlight;
    expect(error).toMatchObject({ codeName: 'UNAVAILABLE', category: 'unavailable' });
    expect(await unary(box.fx, 'after the drop')).toMatchObject({ message: 'after the drop' });
    expect(box.fake.connections).toBe(1);
  });

  it('sendAfter(k, error): a response stream sends k messages, then fails with the error', async () => {
    box.fake.sendAfter(2, fakeStatus('DATA_LOSS', 'disk gone', { 'x-at': 'two' }));
    const seen: EchoReply[] = [];
    const error = await failureOf(
      new Promise((resolve, reject) =>
        box.fx.echo
          .serverStream<EchoRequest, EchoReply>('ServerStream', { count: 5 })
          .subscribe({ next: (r) => seen.push(r), error: reject, complete: () => resolve(seen) }),
      ),
    );
    expect(seen.map((r) => r.index)).toEqual([0, 1]);
    expect(error).toMatchObject({ codeName: 'DATA_LOSS', details: 'disk gone' });
    expect(error.trailers?.get('x-at')).toEqual(['two']);
  });

  it('sendAfter: for bidi streams too, after 0 messages, after the handler ran out, and anything but fakeStatus answers UNKNOWN', async () => {
    box.fake.sendAfter(1, new Error('stream broke'), 'Bidi').sendAfter(0, fakeStatus('ABORTED'), 'ServerStream');
    const bidi = await failureOf(lastValueFrom(box.fx.echo.bidiStream('Bidi', of({ message: 'a' }, { message: 'b' })).pipe(toArray())));
    expect(bidi).toMatchObject({ codeName: 'UNKNOWN', details: 'MeshFake: the handler of Bidi threw: stream broke' });
    await expect(lastValueFrom(box.fx.echo.serverStream('ServerStream', { count: 3 }).pipe(toArray()))).rejects.toMatchObject({
      codeName: 'ABORTED',
    });

    box.fake.reset().sendAfter(10, fakeStatus('INTERNAL'));
    const seen: unknown[] = [];
    const short = await failureOf(
      new Promise((resolve, reject) =>
        box.fx.echo.serverStream('ServerStream', { count: 3 }).subscribe({ next: (r) => seen.push(r), error: reject, complete: () => resolve(seen) }),
      ),
    );
    expect(seen).toHaveLength(3);
    expect(short.codeName).toBe('INTERNAL');
  });

  it('reset() forgets the scripted faults and the recorded calls', async () => {
    box.fake.failNext(5, 'UNAVAILABLE').delay(5000).hang();
    box.fake.reset();
    expect(box.fake.calls()).toEqual([]);
    expect(await unary(box.fx, 'clean')).toMatchObject({ message: 'clean' });
    expect(box.fake.calls()).toHaveLength(1);
  });
});

describe('MeshFake recording', () => {
  const box = useEchoFake();

  it('calls(method?) and lastCall(method?) hold every call as a plain object: method, request(s), metadata, deadline left', async () => {
    await lastValueFrom(box.fx.echo.unary('Unary', { message: 'hello' }, { timeoutMs: 5000, metadata: { 'x-tenant-id': 't1', 'x-tags': 'a' } }));
    await lastValueFrom(box.fx.echo.clientStream('ClientStream', of({ message: 'a' }, { message: 'b' })));
    await lastValueFrom(box.fx.echo.serverStream('ServerStream', { count: 1 }));

    expect(box.fake.calls().map((c) => c.method)).toEqual(['Unary', 'ClientStream', 'ServerStream']);
    expect(box.fake.calls('unary')).toEqual(box.fake.calls('Unary'));
    const first = box.fake.calls('Unary')[0]!;
    expect(first).toEqual({
      method: 'Unary',
      request: { message: 'hello', count: 0, payload: Buffer.alloc(0), replyBytes: 0 },
      metadata: { 'x-tenant-id': 't1', 'x-tags': 'a' },
      deadlineLeftMs: expect.any(Number) as number,
    });
    expect(first.deadlineLeftMs).toBeGreaterThan(3000);
    expect(first.deadlineLeftMs).toBeLessThanOrEqual(5000);
    expect(box.fake.lastCall('ClientStream')).toMatchObject({ method: 'ClientStream', requests: [{ message: 'a' }, { message: 'b' }] });
    expect(box.fake.lastCall('ClientStream')).not.toHaveProperty('request');
    expect(box.fake.lastCall()).toMatchObject({ method: 'ServerStream', request: { count: 1 } });
    expect(box.fake.lastCall('Bidi')).toBeUndefined();
  });

  it('recorded calls are plain objects, so that a failed assertion on one prints a readable diff', async () => {
    await lastValueFrom(box.fx.echo.unary('Unary', { message: 'sent' }, { metadata: { 'x-tenant-id': 't1' } }));
    const call = box.fake.lastCall()!;
    for (const part of [call, call.metadata, call.request]) expect(Object.getPrototypeOf(part)).toBe(Object.prototype);
    let failure: { showDiff?: boolean; actual?: unknown } | undefined;
    try {
      expect(call).toMatchObject({ request: { message: 'expected' }, metadata: { 'x-tenant-id': 't2' } });
    } catch (error) {
      failure = error as typeof failure;
    }
    expect(failure?.showDiff).toBe(true);
    const printed = inspect(failure?.actual, { depth: 5 });
    expect(printed).toContain("message: 'sent'");
    expect(printed).toContain("'x-tenant-id': 't1'");
    expect(printed).not.toMatch(/internalRepr|Metadata|Map\(/);
  });

  it('a request stream is recorded as it arrives, also when the handler never reads it', async () => {
    box.fake.hang('ClientStream');
    const sub = box.fx.echo
      .clientStream('ClientStream', of({ message: 'x' }, { message: 'y' }), { timeoutMs: 5000 })
      .subscribe({ error: () => undefined });
    expect(await eventually(() => box.fake.lastCall('ClientStream')?.requests?.length === 2, 3000)).toBe(true);
    sub.unsubscribe();
  });
});
