import { loadSync } from '@grpc/proto-loader';
import { Subject, of, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { RequestSource, type RequestCursor, type RequestWaiter } from '../../libs/mesh-client/src/client/call/request-source.js';
import { REPLAY_BUFFER_MESSAGES } from '../../libs/mesh-client/src/config/defaults.js';
import { buildMethodTable } from '../../libs/mesh-client/src/proto/method-table.js';
import { RequestProblem } from '../../libs/mesh-client/src/proto/request-check.js';
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
    expect(await drain(source.open())).toEqual([]);
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
