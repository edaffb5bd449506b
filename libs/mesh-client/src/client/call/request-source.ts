import { status as Status } from '@grpc/grpc-js';
import { isObservable, type Observable, type Subscription } from 'rxjs';
import { REPLAY_BUFFER_MESSAGES } from '../../config/defaults.js';
import { describeThrown } from '../../errors/describe-thrown.js';
import { isMeshClientError, type MeshClientError } from '../../errors/mesh-client.error.js';
import { callerError, localError, type CallSite } from '../../errors/to-mesh-error.js';
import type { MethodInfo } from '../../proto/method-table.js';
import { RequestProblem } from '../../proto/request-check.js';

/** One message read from a request stream: now, or later (a promise). Throws or rejects when the stream failed. */
export interface RequestCursor {
  next(): IteratorResult<Buffer> | Promise<IteratorResult<Buffer>>;
}

/** What a failing request stream fails the call with: the caller's own fault, never the server's. */
export function requestStreamFailure(site: CallSite, error: unknown, attempts: number): MeshClientError {
  if (isMeshClientError(error)) return error;
  if (error instanceof RequestProblem) return callerError(site, error.message, { attempts });
  return localError(site, Status.CANCELLED, `the request stream failed: ${describeThrown(error)}`, { attempts, cause: error, local: true });
}

/** Where a call's request messages come from, read one at a time on demand. */
interface Upstream {
  next(): IteratorResult<unknown> | Promise<IteratorResult<unknown>>;
  close(): void;
}

const DONE: IteratorResult<Buffer> = { done: true, value: undefined };
const isPromiseLike = <V>(value: unknown): value is PromiseLike<V> => typeof (value as PromiseLike<V> | null)?.then === 'function';

/**
 * The request stream of one client- or bidi-streaming call, read on demand by its attempts, one
 * message per write: an iterable or AsyncIterable is pulled only as fast as the wire takes its
 * messages (an endless generator neither blocks the process nor fills its memory); an Observable
 * (or a Promise) pushes, and what it pushes waits here until written. Every message is checked and
 * encoded as it is read (`onMessage` counts it). While the call may be retried, the messages read
 * are kept (up to REPLAY_BUFFER_MESSAGES) and each new attempt gets them again before the rest;
 * past that the call is no longer `replayable` (a retry would lose what was not kept).
 */
export class RequestSource {
  private readonly kept: Buffer[] = [];
  private overflowed: boolean;
  private readonly upstream: Upstream;

  constructor(
    private readonly method: MethodInfo,
    requests: unknown,
    keep: boolean,
    private readonly onMessage?: () => void,
  ) {
    this.overflowed = !keep;
    this.upstream = upstreamOf(method, requests);
  }

  /** True while every message read so far can be sent again. */
  get replayable(): boolean {
    return !this.overflowed;
  }

  /** The messages of one attempt: those kept, then the ones still to come. */
  open(): RequestCursor {
    let position = 0;
    return {
      next: () => {
        if (position < this.kept.length) return { done: false, value: this.kept[position++]! };
        const read = this.upstream.next();
        if (!isPromiseLike<IteratorResult<unknown>>(read)) return this.taken(read, () => position++);
        return Promise.resolve(read).then((r) => this.taken(r, () => position++));
      },
    };
  }

  /** The call committed (no more retries): forget what was kept, keep no more. */
  release(): void {
    this.overflowed = true;
    this.kept.length = 0;
  }

  /** The call is over: let go of the caller's stream (an iterator is returned, an Observable unsubscribed). */
  close(): void {
    this.release();
    this.upstream.close();
  }

  private taken(read: IteratorResult<unknown>, advance: () => void): IteratorResult<Buffer> {
    if (read.done) return DONE;
    this.onMessage?.();
    const bytes = this.method.encode(read.value);
    if (!this.overflowed) {
      if (this.kept.length < REPLAY_BUFFER_MESSAGES) {
        this.kept.push(bytes);
        advance();
      } else this.release();
    }
    return { done: false, value: bytes };
  }
}

/** The caller's requests as something to read from; throws RequestProblem when they are no stream. */
function upstreamOf(method: MethodInfo, requests: unknown): Upstream {
  try {
    if (isObservable(requests)) return new PushUpstream(requests);
    if (typeof requests === 'object' && requests !== null && !Buffer.isBuffer(requests)) {
      const r = requests as Partial<AsyncIterable<unknown> & Iterable<unknown> & PromiseLike<unknown>>;
      if (typeof r[Symbol.asyncIterator] === 'function') return pullOf(r[Symbol.asyncIterator]!());
      if (typeof r[Symbol.iterator] === 'function') return pullOf(r[Symbol.iterator]!());
      if (typeof r.then === 'function') return new PushUpstream(r as PromiseLike<unknown>);
    }
  } catch (error) {
    throw new RequestProblem(`the request stream could not be read: ${describeThrown(error)}`);
  }
  const got = requests === null ? 'null' : Array.isArray(requests) ? 'an array' : `a ${typeof requests}`;
  throw new RequestProblem(
    `'${method.name}' streams its requests: give an Observable (or an array, iterable or AsyncIterable) of messages, got ${got}`,
  );
}

function pullOf(iterator: Iterator<unknown> | AsyncIterator<unknown>): Upstream {
  let closed = false;
  return {
    next: () => iterator.next(),
    close: () => {
      if (closed) return;
      closed = true;
      try {
        const returned = iterator.return?.();
        if (isPromiseLike(returned)) returned.then(undefined, () => undefined);
      } catch {
        // the caller's iterator failed to close: it is over for the call either way
      }
    },
  };
}

/** An Observable or a Promise: what it pushes waits here until read. */
class PushUpstream implements Upstream {
  private readonly queue: unknown[] = [];
  private ending: { error: unknown } | { done: true } | undefined;
  private readonly waiting: { resolve: (r: IteratorResult<unknown>) => void; reject: (e: unknown) => void }[] = [];
  private subscription: Subscription | undefined;
  private closed = false;

  constructor(private readonly source: Observable<unknown> | PromiseLike<unknown>) {}

  next(): IteratorResult<unknown> | Promise<IteratorResult<unknown>> {
    if (!this.subscription && !this.closed) this.start();
    if (this.queue.length > 0) return { done: false, value: this.queue.shift() };
    if (this.ending) {
      if ('error' in this.ending) throw this.ending.error;
      return { done: true, value: undefined };
    }
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }

  close(): void {
    this.closed = true;
    this.queue.length = 0;
    this.subscription?.unsubscribe();
  }

  private start(): void {
    if (isObservable(this.source)) {
      this.subscription = this.source.subscribe({
        next: (value) => this.push(value),
        error: (error: unknown) => this.end({ error }),
        complete: () => this.end({ done: true }),
      });
      return;
    }
    this.subscription = { unsubscribe: () => undefined } as Subscription;
    Promise.resolve(this.source).then(
      (value) => {
        this.push(value);
        this.end({ done: true });
      },
      (error: unknown) => this.end({ error }),
    );
  }

  private push(value: unknown): void {
    if (this.closed) return;
    const waiting = this.waiting.shift();
    if (waiting) waiting.resolve({ done: false, value });
    else this.queue.push(value);
  }

  private end(ending: { error: unknown } | { done: true }): void {
    this.ending ??= ending;
    for (const waiting of this.waiting.splice(0)) {
      if ('error' in ending) waiting.reject(ending.error);
      else waiting.resolve({ done: true, value: undefined });
    }
  }
}
