import { loadSync } from '@grpc/proto-loader';
import { Observable, Subject, of, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { RequestSource, type RequestCursor } from '../../libs/mesh-client/src/client/call/request-source.js';
import type { RequestWaiter } from '../../libs/mesh-client/src/client/call/request-upstream.js';
import { REPLAY_BUFFER_MESSAGES } from '../../libs/mesh-client/src/config/defaults.js';
import { buildMethodTable, type MethodInfo } from '../../libs/mesh-client/src/proto/method-table.js';
import { RequestProblem } from '../../libs/mesh-client/src/proto/request-problem.js';
import { ECHO_PROTO } from '../support/protos.js';

const definition = loadSync(ECHO_PROTO)['mesh.test.Echo'] as unknown as ServiceDefinition;
const method = buildMethodTable('echo', 'mesh.test.Echo', definition, 1 << 20, 'exact').get('ClientStream')!;
const decode = (bytes: Buffer): string => (definition.Unary!.requestDeserialize(bytes) as { message: string }).message;

/** The cursor's next message: now, or when its waiter hears of it. */
function nextOf(cursor: RequestCursor): Promise<IteratorResult<Buffer>> {
  return new Promise((resolve, reject) => {
    const read = cursor.next({ ready: resolve, failed: reject });
    if (read !== null) resolve(read);
  });
}

const IGNORE: RequestWaiter = { ready: () => undefined, failed: () => undefined };

/** Reads a cursor to its end: the messages it gave. */
async function drain(cursor: RequestCursor): Promise<string[]> {
  const out: string[] = [];
  for (;;) {
    const read = await nextOf(cursor);
    if (read.done) return out;
    out.push(decode(read.value));
  }
}

describe('RequestSource: a request stream read on demand', () => {
  it('pulls an iterable one message per read: an endless generator is read only as far as asked', async () => {
    let pulled = 0;
    function* endless(): Iterable<{ message: string }> {
      for (;;) yield { message: String(pulled++) };
    }
    const source = new RequestSource(method, endless(), false);
    const cursor = source.open();
    for (let i = 0; i < 3; i++) cursor.next(IGNORE);
    expect(pulled).toBe(3);
    source.close();
  });

  it('keeps what it read for a retry: a second attempt gets it again, then the rest', async () => {
    const subject = new Subject<{ message: string }>();
    const source = new RequestSource(method, subject, true);
    const first = source.open();
    const reads: Promise<IteratorResult<Buffer>>[] = [];
    for (const message of ['a', 'b']) {
      reads.push(nextOf(first)); // one read at a time: the writer asks again once it has its answer
      subject.next({ message });
    }
    expect((await Promise.all(reads)).map((r) => decode(r.value as Buffer))).toEqual(['a', 'b']);
    const second = source.open();
    subject.next({ message: 'c' });
    subject.complete();
    expect(await drain(second)).toEqual(['a', 'b', 'c']);
    expect(source.replayable).toBe(true);
  });

  it(`is no longer replayable once it read past ${String(REPLAY_BUFFER_MESSAGES)} messages, and then keeps none`, async () => {
    const many = Array.from({ length: REPLAY_BUFFER_MESSAGES + 1 }, (_, i) => ({ message: String(i) }));
    const source = new RequestSource(method, many, true);
    expect(await drain(source.open())).toHaveLength(many.length);
    expect(source.replayable).toBe(false);
    // another attempt would send a stream with a hole: it gets an error saying so
    await expect(drain(source.open())).rejects.toThrow(/cannot be sent again: 257 messages were read and the first 257 are no longer kept/);
  });

  it('counts each message once, when first read', async () => {
    let counted = 0;
    const source = new RequestSource(method, of({ message: 'a' }, { message: 'b' }), true, () => counted++);
    await drain(source.open());
    await drain(source.open());
    expect(counted).toBe(2);
  });

  it('a message that does not fit, a failing stream, no stream at all: RequestProblem or the stream error', async () => {
    const bad = new RequestSource(method, [{ message: 1 }], false);
    expect(() => bad.open().next(IGNORE)).toThrow(RequestProblem);
    const failing = new RequestSource(
      method,
      throwError(() => new Error('gone')),
      false,
    );
    await expect(nextOf(failing.open())).rejects.toThrow('gone');
    expect(() => new RequestSource(method, 'abc', false)).toThrow(/streams its requests: give an Observable .* got a string/);
    const hostile = new Proxy(
      {},
      {
        get: () => {
          throw new Error('nope');
        },
      },
    );
    expect(() => new RequestSource(method, hostile, false)).toThrow(/the request stream could not be read: nope/);
  });

  it("close() returns the caller's iterator", async () => {
    let returned = false;
    const iterable = {
      [Symbol.iterator]: () => ({
        next: () => ({ done: false, value: { message: 'x' } }),
        return: () => ((returned = true), { done: true, value: undefined }),
      }),
    };
    const source = new RequestSource(method, iterable, false);
    source.open().next(IGNORE);
    source.close();
    expect(returned).toBe(true);
  });
});

/** A method whose messages are strings (what each test reads is plain to see). */
const textMethod = {
  name: 'Stream',
  site: { client: 'c', service: 's', method: 'Stream', maxMessageBytes: 1024 },
  encode: (message: unknown) => {
    if (typeof message !== 'string') throw new RequestProblem('not a string');
    return Buffer.from(message);
  },
} as unknown as MethodInfo;

/** A writer as an attempt has one: what its cursor gave it, now or later. */
class Reader implements RequestWaiter {
  readonly got: string[] = [];
  failure: unknown;
  waiting = false;

  constructor(readonly cursor: RequestCursor) {}

  /** Reads until the cursor has nothing now. */
  pull(): this {
    for (;;) {
      this.waiting = true;
      const read = this.cursor.next(this);
      if (read === null) return this;
      this.waiting = false;
      if (read.done) return (void this.got.push('<done>'), this);
      this.got.push(read.value.toString());
    }
  }

  ready(read: IteratorResult<Buffer>): void {
    this.waiting = false;
    this.got.push(read.done ? '<done>' : read.value.toString());
  }

  failed(error: unknown): void {
    this.waiting = false;
    this.failure = error;
  }
}

/** A reader that reads on as soon as it got a message (a writer whose writes complete at once). */
function greedy(reader: Reader): Reader {
  const told = reader.ready.bind(reader);
  reader.ready = (read) => {
    told(read);
    if (!read.done) reader.pull();
  };
  return reader;
}

describe('RequestSource: one reader for all the attempts of a call', () => {
  it('a hot Observable: nothing pushed after start() is lost, however late the first attempt reads', () => {
    const subject = new Subject<string>();
    const source = new RequestSource(textMethod, subject, false);
    subject.next('lost: before start');
    source.start();
    subject.next('a');
    subject.next('b');
    const reader = new Reader(source.open()).pull();
    expect(reader.got).toEqual(['a', 'b']);
    subject.next('c');
    expect(reader.got).toEqual(['a', 'b', 'c']);
  });

  it('an attempt that ended while its read was pending: the message is kept and the next attempt gets it, once, in order', async () => {
    let release!: (value: IteratorResult<string>) => void;
    const reads = [Promise.resolve({ done: false, value: 'a' }), new Promise<IteratorResult<string>>((r) => (release = r))];
    const iterator = { next: () => reads.shift() ?? Promise.resolve({ done: true, value: undefined }) };
    const source = new RequestSource(textMethod, { [Symbol.asyncIterator]: () => iterator }, true);
    const first = new Reader(source.open()).pull();
    await Promise.resolve();
    await Promise.resolve();
    expect(first.got).toEqual(['a']);
    first.pull(); // waits for 'b'
    first.cursor.close();
    const second = new Reader(source.open()).pull();
    expect(second.got).toEqual(['a']);
    release({ done: false, value: 'b' });
    await Promise.resolve();
    await Promise.resolve();
    second.pull();
    await new Promise((r) => setImmediate(r));
    expect(first.got).toEqual(['a']);
    expect(second.got).toEqual(['a', 'b', '<done>']);
  });

  it('two attempts at the front (hedged copies) both get each message; one reading on at once does not move the other', async () => {
    // the first read answers later, the next ones at once: the copy told first reads 'b' within its turn
    const reads: unknown[] = [Promise.resolve({ done: false, value: 'a' }), { done: false, value: 'b' }, { done: true, value: undefined }];
    const source = new RequestSource(textMethod, { [Symbol.asyncIterator]: () => ({ next: () => reads.shift() }) }, true);
    const one = new Reader(source.open()).pull();
    const two = new Reader(source.open()).pull();
    const onReady = one.ready.bind(one);
    one.ready = (read) => {
      onReady(read);
      if (!read.done) one.pull();
    };
    await new Promise((r) => setImmediate(r));
    expect(one.got).toEqual(['a', 'b', '<done>']);
    expect(two.got).toEqual(['a']);
    two.pull();
    expect(two.got).toEqual(['a', 'b', '<done>']);
  });

  it('a new attempt after what was sent is no longer kept: an error saying so, never a stream with a hole', () => {
    const source = new RequestSource(textMethod, ['a', 'b', 'c'], true);
    const first = new Reader(source.open());
    first.cursor.next(first);
    source.release(); // the call committed
    expect(() => source.open().next(new Reader(source.open()))).toThrow(
      /cannot be sent again: 1 messages were read and the first 1 are no longer kept/,
    );
  });

  it('past the replay buffer, an attempt already replaying still gets every message it has not sent; only a new one is refused', () => {
    const subject = new Subject<string>();
    const source = new RequestSource(textMethod, subject, true);
    source.start();
    const first = greedy(new Reader(source.open())).pull();
    for (let i = 0; i < REPLAY_BUFFER_MESSAGES; i++) subject.next(String(i));
    expect(first.got).toHaveLength(REPLAY_BUFFER_MESSAGES);
    first.cursor.close(); // attempt 1 failed: attempt 2 replays
    const second = new Reader(source.open());
    for (let i = 0; i < 16; i++) second.cursor.next(second); // 16 sent again, then the wire holds it up
    subject.next('late'); // message 257: no more replays from now on
    expect(source.replayable).toBe(false);
    greedy(second).pull();
    subject.next('later');
    subject.complete();
    expect(second.got).toEqual([...Array.from({ length: REPLAY_BUFFER_MESSAGES - 16 }, (_, i) => String(i + 16)), 'late', 'later', '<done>']);
    expect(() => new Reader(source.open()).pull()).toThrow(/cannot be sent again/);
  });

  it('runs side by side (a plugin merging next.handle()): the one behind gets every message after the call committed', () => {
    const subject = new Subject<string>();
    const source = new RequestSource(textMethod, subject, true);
    source.start();
    const ahead = greedy(new Reader(source.open())).pull();
    const behind = new Reader(source.open());
    for (let i = 0; i < 5; i++) subject.next(String(i));
    source.release(); // a response arrived
    subject.next('5');
    subject.complete();
    expect(ahead.got).toEqual(['0', '1', '2', '3', '4', '5', '<done>']);
    behind.pull();
    expect(behind.got).toEqual(['0', '1', '2', '3', '4', '5', '<done>']);
  });

  it('a copy far behind (5,000 messages) reads every one, in order, while the one ahead is handed each as it comes', () => {
    const subject = new Subject<string>();
    const source = new RequestSource(textMethod, subject, true);
    source.start();
    const ahead = greedy(new Reader(source.open())).pull();
    const behind = new Reader(source.open());
    const sent = Array.from({ length: 5_000 }, (_, i) => String(i));
    for (const message of sent) subject.next(message);
    subject.complete();
    expect(ahead.got).toEqual([...sent, '<done>']);
    const started = performance.now();
    for (let i = 0; i < 100; i++) behind.got.push(behind.cursor.next(behind)!.value!.toString()); // a few, one at a time
    greedy(behind).pull();
    expect(behind.got).toEqual([...sent, '<done>']);
    expect(performance.now() - started).toBeLessThan(1_000);
  });

  it('a message that does not encode fails the read, and every later read (the stream is over)', () => {
    const source = new RequestSource(textMethod, ['a', 5, 'c'], true);
    const reader = new Reader(source.open());
    expect(reader.cursor.next(reader)).toEqual({ done: false, value: Buffer.from('a') });
    expect(() => reader.cursor.next(reader)).toThrow('not a string');
    expect(() => new Reader(source.open()).pull()).toThrow(); // 'a' kept, then the failure
  });

  it.each([
    ['null', null],
    ['a number', 5],
  ])('an iterator whose next() gives %s: a RequestProblem naming it', (named, result) => {
    const source = new RequestSource(textMethod, { [Symbol.iterator]: () => ({ next: () => result }) }, false);
    expect(() => new Reader(source.open()).pull()).toThrow(`the request iterator's next() gave ${named}, not an iterator result`);
  });

  it('closed inside the Observable subscribe (the call ended there): unsubscribed as soon as subscribe returns', () => {
    let tornDown = false;
    const holder: { source?: RequestSource } = {};
    const requests = new Observable<string>(() => {
      holder.source!.close();
      return () => (tornDown = true);
    });
    const source = (holder.source = new RequestSource(textMethod, requests, false));
    source.start();
    expect(tornDown).toBe(true);
  });

  it("close() never throws, whatever the caller's teardown does", () => {
    const requests = new Observable<string>(() => () => {
      throw new Error('teardown failed');
    });
    const source = new RequestSource(textMethod, requests, false);
    source.start();
    expect(() => source.close()).not.toThrow();
  });
});
