import { status as Status } from '@grpc/grpc-js';
import { isObservable, type Observable, type Subscription } from 'rxjs';
import { REPLAY_BUFFER_MESSAGES } from '../../config/defaults.js';
import { describeThrown } from '../../errors/describe-thrown.js';
import { isMeshClientError, type MeshClientError } from '../../errors/mesh-client.error.js';
import { callerError, localError, type CallSite } from '../../errors/to-mesh-error.js';
import type { MethodInfo } from '../../proto/method-table.js';
import { RequestProblem } from '../../proto/request-check.js';

/** Who waits for a message of a request stream that is not there yet: told once, never throws. */
export interface RequestWaiter<M = Buffer> {
  ready(read: IteratorResult<M>): void;
  failed(error: unknown): void;
}

/**
 * One attempt's reading of a request stream: the next message now, or null when it is not there
 * yet (then `waiter` is told once, as soon as it comes: a message an Observable pushes goes on at
 * once, with no promise between). One read at a time: the next once the last was answered.
 * Throws when the stream failed or the message does not fit.
 */
export interface RequestCursor {
  next(waiter: RequestWaiter): IteratorResult<Buffer> | null;
}

/** What a failing request stream fails the call with: the caller's own fault, never the server's. */
export function requestStreamFailure(site: CallSite, error: unknown, attempts: number): MeshClientError {
  if (isMeshClientError(error)) return error;
  if (error instanceof RequestProblem) return callerError(site, error.message, { attempts });
  return localError(site, Status.CANCELLED, `the request stream failed: ${describeThrown(error)}`, { attempts, cause: error, local: true });
}

/** Where a call's request messages come from, read one at a time on demand (null: `waiter` hears later). */
interface Upstream {
  next(waiter: RequestWaiter<unknown>): IteratorResult<unknown> | null;
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
    return new AttemptCursor(this, this.upstream);
  }

  /** @internal the message kept at `position`, if there is one. */
  keptAt(position: number): Buffer | undefined {
    return this.kept[position];
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

  /** @internal a message read from upstream: counted, checked, encoded, kept for a retry (then `cursor` is past it). */
  taken(read: IteratorResult<unknown>, cursor: AttemptCursor): IteratorResult<Buffer> {
    if (read.done) return DONE;
    this.onMessage?.();
    const bytes = this.method.encode(read.value);
    if (!this.overflowed) {
      if (this.kept.length < REPLAY_BUFFER_MESSAGES) {
        this.kept.push(bytes);
        cursor.position++;
      } else this.release();
    }
    return { done: false, value: bytes };
  }
}

/** One attempt's cursor: the kept messages from its position, then upstream's, each encoded as it comes. */
class AttemptCursor implements RequestCursor, RequestWaiter<unknown> {
  position = 0;
  private waiter: RequestWaiter | undefined;

  constructor(
    private readonly source: RequestSource,
    private readonly upstream: Upstream,
  ) {}

  next(waiter: RequestWaiter): IteratorResult<Buffer> | null {
    const kept = this.source.keptAt(this.position);
    if (kept !== undefined) {
      this.position++;
      return { done: false, value: kept };
    }
    this.waiter = waiter;
    const read = this.upstream.next(this);
    return read === null ? null : this.source.taken(read, this);
  }

  ready(read: IteratorResult<unknown>): void {
    const waiter = this.waiter!;
    this.waiter = undefined;
    let taken: IteratorResult<Buffer>;
    try {
      taken = this.source.taken(read, this);
    } catch (error) {
      return waiter.failed(error);
    }
    waiter.ready(taken);
  }

  failed(error: unknown): void {
    const waiter = this.waiter!;
    this.waiter = undefined;
    waiter.failed(error);
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
    next: (waiter) => {
      const read = iterator.next();
      if (!isPromiseLike<IteratorResult<unknown>>(read)) return read;
      // a promise of the caller's (or a thenable: taken in by a real promise, so it answers once, later)
      Promise.resolve(read).then(
        (r) => waiter.ready(r),
        (error: unknown) => waiter.failed(error),
      );
      return null;
    },
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

/**
 * An Observable or a Promise: what it pushes waits here until read, or goes at once to a reader
 * waiting for it (the writer then writes it within the push).
 */
class PushUpstream implements Upstream {
  private readonly queue: unknown[] = [];
  private ending: { error: unknown } | { done: true } | undefined;
  private readonly waiting: RequestWaiter<unknown>[] = [];
  private subscription: Subscription | undefined;
  private closed = false;

  constructor(private readonly source: Observable<unknown> | PromiseLike<unknown>) {}

  next(waiter: RequestWaiter<unknown>): IteratorResult<unknown> | null {
    if (!this.subscription && !this.closed) this.start();
    if (this.queue.length > 0) return { done: false, value: this.queue.shift() };
    if (this.ending) {
      if ('error' in this.ending) throw this.ending.error;
      return { done: true, value: undefined };
    }
    this.waiting.push(waiter);
    return null;
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
    if (waiting) waiting.ready({ done: false, value });
    else this.queue.push(value);
  }

  private end(ending: { error: unknown } | { done: true }): void {
    this.ending ??= ending;
    for (const waiting of this.waiting.splice(0)) {
      if ('error' in ending) waiting.failed(ending.error);
      else waiting.ready(DONE);
    }
  }
}
