import type { Metadata } from '@grpc/grpc-js';
import { from, lastValueFrom, Observable, of, Subject, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshFake, fakeStatus, isFakeStatus, type FakeContext } from '@datapunk/mesh-client/testing';
import { failureOf } from '../support/errors.js';
import { clientOfFake, type FakeClientApp } from '../support/fake-client.js';
import { echoProto, type EchoReply, type EchoRequest } from '../support/protos.js';
import { eventually } from '../support/wait.js';

describe('MeshFake: every handler form answers over real gRPC', () => {
  let fake: MeshFake;
  let fx: FakeClientApp;
  const contexts: FakeContext[] = [];

  beforeAll(async () => {
    fake = await MeshFake.start(echoProto, {
      // unary: a value, a Promise or an Observable (its last value), chosen by the request
      Unary: (req: EchoRequest, ctx: FakeContext) => {
        contexts.push(ctx);
        if (req.message === 'promise') return Promise.resolve({ message: 'from a promise' });
        if (req.message === 'observable') return of({ message: 'first' }, { message: 'last' });
        if (req.message === 'header') ctx.setHeader('x-served-by', 'fake');
        return { message: `value ${req.message ?? ''}` };
      },
      // server streams: an array, a generator, an async generator, an Observable, a Promise of one
      ServerStream: (req: EchoRequest) => {
        const replies = (n: number): EchoReply[] => Array.from({ length: n }, (_, index) => ({ message: req.message ?? '', index }) as EchoReply);
        switch (req.message) {
          case 'generator':
            return (function* () {
              yield* replies(2);
            })();
          case 'async':
            return (async function* () {
              for (const r of replies(3)) yield await Promise.resolve(r);
            })();
          case 'observable':
            return from(replies(4));
          case 'promise':
            return Promise.resolve(replies(5));
          default:
            return replies(req.count ?? 0);
        }
      },
      // client streams: an AsyncIterable of requests, the answer a Promise (or an Observable)
      ClientStream: async (requests: AsyncIterable<EchoRequest>) => {
        const words: string[] = [];
        for await (const r of requests) words.push(r.message ?? '');
        return words[0] === 'observable' ? of({ message: words.join('+') }) : { message: words.join(','), received: words.length };
      },
      // bidi: answers each request as it comes
      Bidi: async function* (requests: AsyncIterable<EchoRequest>) {
        for await (const r of requests) yield { message: `re: ${r.message ?? ''}` };
      },
    });
    fx = await clientOfFake(fake);
  });
  afterAll(async () => {
    await fx.app.close();
    await fake.close();
  });

  it('unary: a value, a Promise, or an Observable (its last value)', async () => {
    const call = (message: string) => lastValueFrom(fx.echo.unary<EchoRequest, EchoReply>('Unary', { message }));
    expect(await call('plain')).toMatchObject({ message: 'value plain' });
    expect(await call('promise')).toMatchObject({ message: 'from a promise' });
    expect(await call('observable')).toMatchObject({ message: 'last' });
  });

  it('server streams: an array, a generator, an async generator, an Observable, a Promise of an array', async () => {
    const count = async (message: string, n = 0) =>
      (await lastValueFrom(fx.echo.serverStream<EchoRequest, EchoReply>('ServerStream', { message, count: n }).pipe(toArray()))).map((r) => r.index);
    expect(await count('array', 3)).toEqual([0, 1, 2]);
    expect(await count('array', 0)).toEqual([]);
    expect(await count('generator')).toEqual([0, 1]);
    expect(await count('async')).toEqual([0, 1, 2]);
    expect(await count('observable')).toEqual([0, 1, 2, 3]);
    expect(await count('promise')).toEqual([0, 1, 2, 3, 4]);
  });

  it('client streams read an AsyncIterable of requests; the answer may be a Promise or an Observable', async () => {
    const words = (list: string[]) => from(list.map((message) => ({ message })));
    expect(await lastValueFrom(fx.echo.clientStream<EchoRequest, EchoReply>('ClientStream', words(['a', 'b', 'c'])))).toMatchObject({
      message: 'a,b,c',
      received: 3,
    });
    expect(await lastValueFrom(fx.echo.clientStream<EchoRequest, EchoReply>('ClientStream', words(['observable', 'x'])))).toMatchObject({
      message: 'observable+x',
    });
    expect(await lastValueFrom(fx.echo.clientStream<EchoRequest, EchoReply>('ClientStream', words([])))).toMatchObject({ received: 0 });
  });

  it('bidi streams answer each request while the client is still sending', async () => {
    const requests = new Subject<EchoRequest>();
    const replies: string[] = [];
    const done = new Promise<void>((resolve, reject) =>
      fx.echo
        .bidiStream<EchoRequest, EchoReply>('Bidi', requests)
        .subscribe({ next: (r) => replies.push(r.message), error: reject, complete: resolve }),
    );
    requests.next({ message: 'one' });
    expect(await eventually(() => replies.length === 1, 3000)).toBe(true);
    requests.next({ message: 'two' });
    requests.complete();
    await done;
    expect(replies).toEqual(['re: one', 're: two']);
  });

  it('ctx gives the metadata as a plain record, the deadline left, a signal, and response headers', async () => {
    let headers: Metadata | undefined;
    await lastValueFrom(
      fx.echo.unary('Unary', { message: 'header' }, { timeoutMs: 4000, metadata: { 'x-tenant-id': 't1' }, onHeader: (h) => (headers = h) }),
    );
    const ctx = contexts.at(-1)!;
    expect(ctx.method).toBe('Unary');
    expect(ctx.metadata).toMatchObject({ 'x-tenant-id': 't1' });
    expect(ctx.metadata['user-agent']).toBeUndefined();
    expect(ctx.deadlineLeftMs).toBeGreaterThan(0);
    expect(ctx.deadlineLeftMs).toBeLessThanOrEqual(4000);
    expect(ctx.signal.aborted).toBe(false);
    expect(headers?.get('x-served-by')).toEqual(['fake']);
  });
});

describe('MeshFake: statuses, trailers and failures of handlers', () => {
  let fake: MeshFake;
  let fx: FakeClientApp;
  let waiting: FakeContext | undefined;
  let unsubscribed = false;

  beforeAll(async () => {
    fake = await MeshFake.start(echoProto, {
      unary: (req: EchoRequest) => {
        if (req.message === 'boom') throw new Error('database on fire');
        if (req.message === 'not-an-error') throw 'a string'; // what some code throws
        if (req.message === 'misspelled') return { mesage: 'x' };
        if (req.message === 'nothing') return undefined;
        if (req.message === 'empty-observable') return new Observable<never>((s) => s.complete());
        if (req.message === 'late-header') return { message: 'ok' };
        throw fakeStatus(Number(req.count) || req.message || 'NOT_FOUND', `no item ${req.message ?? ''}`, {
          'x-reason': 'deleted',
          'x-trace-bin': Buffer.from([1, 2]),
        });
      },
      serverStream: (req: EchoRequest, ctx: FakeContext) => {
        if (req.message === 'wait') {
          waiting = ctx;
          return new Observable<never>(() => () => (unsubscribed = true)); // never ends: the client cancels
        }
        return { message: 'one message, not a stream' } as never;
      },
    });
    fx = await clientOfFake(fake);
  });
  afterAll(async () => {
    await fx.app.close();
    await fake.close();
  });

  it('throw fakeStatus(code, details, trailers): the code by name or number, details and trailers reach the client', async () => {
    const byName = await failureOf(lastValueFrom(fx.echo.unary('Unary', { message: 'PERMISSION_DENIED' })));
    expect(byName).toMatchObject({ codeName: 'PERMISSION_DENIED', details: 'no item PERMISSION_DENIED', attempts: 1 });
    expect(byName.trailers?.get('x-reason')).toEqual(['deleted']);
    expect(byName.trailers?.get('x-trace-bin')).toEqual([Buffer.from([1, 2])]);
    const byNumber = await failureOf(lastValueFrom(fx.echo.unary('Unary', { count: 9, message: '' })));
    expect(byNumber).toMatchObject({ codeName: 'FAILED_PRECONDITION', category: 'invalid-request' });
  });

  it('a handler that throws anything else answers UNKNOWN with its message; the fake keeps serving', async () => {
    const error = await failureOf(lastValueFrom(fx.echo.unary('Unary', { message: 'boom' })));
    expect(error).toMatchObject({ codeName: 'UNKNOWN', details: 'MeshFake: the handler of Unary threw: database on fire' });
    const other = await failureOf(lastValueFrom(fx.echo.unary('Unary', { message: 'not-an-error' })));
    expect(other.details).toBe('MeshFake: the handler of Unary threw: a string');
    await expect(lastValueFrom(fx.echo.unary('Unary', { message: 'NOT_FOUND' }))).rejects.toMatchObject({ codeName: 'NOT_FOUND' });
  });

  it('a response that does not fit its message answers INTERNAL naming the field (protobuf would drop it silently)', async () => {
    const error = await failureOf(lastValueFrom(fx.echo.unary('Unary', { message: 'misspelled' })));
    expect(error.codeName).toBe('INTERNAL');
    expect(error.details).toBe("MeshFake: Unary: 'mesage' is not a field of mesh.test.EchoReply; did you mean 'message'?");
    const nothing = await failureOf(lastValueFrom(fx.echo.unary('Unary', { message: 'nothing' })));
    expect(nothing.details).toMatch(/Unary: the handler returned undefined; return the response message \(\{\} for an empty one\)/);
    const empty = await failureOf(lastValueFrom(fx.echo.unary('Unary', { message: 'empty-observable' })));
    expect(empty.details).toMatch(/an Observable that completed without a value/);
  });

  it('a streaming handler that returns one message answers INTERNAL saying what it must return', async () => {
    const error = await failureOf(lastValueFrom(fx.echo.serverStream('ServerStream', { message: 'one' })));
    expect(error.codeName).toBe('INTERNAL');
    expect(error.details).toMatch(/a streaming handler must return an iterable .* got an object/);
  });

  it('a missing handler answers UNIMPLEMENTED naming the method and how to give it', async () => {
    const error = await failureOf(lastValueFrom(fx.echo.bidiStream('Bidi', of({}))));
    expect(error).toMatchObject({ codeName: 'UNIMPLEMENTED', category: 'unimplemented' });
    expect(error.details).toBe('MeshFake of mesh.test.Echo has no handler for Bidi (give handlers.Bidi or handlers.bidi)');
  });

  it("ctx.signal aborts when the client cancels, and the fake's Observable is unsubscribed", async () => {
    const sub = fx.echo.serverStream('ServerStream', { message: 'wait' }).subscribe({ error: () => undefined });
    expect(await eventually(() => waiting !== undefined, 3000)).toBe(true);
    expect(waiting!.signal.aborted).toBe(false);
    sub.unsubscribe();
    expect(await eventually(() => waiting!.signal.aborted && unsubscribed, 3000)).toBe(true);
  });

  it('fakeStatus() is an Error branded for isFakeStatus()', () => {
    const error = fakeStatus('UNAVAILABLE');
    expect(error).toBeInstanceOf(Error);
    expect(isFakeStatus(error)).toBe(true);
    expect(isFakeStatus(new Error('x'))).toBe(false);
    expect(error.message).toBe('UNAVAILABLE: UNAVAILABLE');
  });
});
