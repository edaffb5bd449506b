import { isObservable, Subscription, type Observable } from 'rxjs';
import { isPromiseLike } from '../../config/promise-like.js';
import { describeThrown } from '../../errors/describe-thrown.js';
import type { MethodInfo } from '../../proto/method-table.js';
import { RequestProblem } from '../../proto/request-problem.js';
import { Fifo } from './fifo.js';

/** Who waits for a message of a request stream that is not there yet: told once, never throws. */
export interface RequestWaiter<M = Buffer> {
  ready(read: IteratorResult<M>): void;
  failed(error: unknown): void;
}

/**
 * Where a call's request messages come from, read one at a time on demand: the next message now,
 * or null when it is not there yet (then `waiter` is told once, later). One read at a time.
 */
export interface Upstream {
  /** Starts taking what a pushing stream pushes (a pulled one waits for its reads). */
  start(): void;
  next(waiter: RequestWaiter<unknown>): IteratorResult<unknown> | null;
  /** Lets go of the caller's stream; never throws (the caller's teardown is the caller's). */
  close(): void;
}

/** The caller's requests as something to read from; throws RequestProblem when they are no stream. */
export function upstreamOf(method: MethodInfo, requests: unknown): Upstream {
  try {
    if (isObservable(requests)) return new PushUpstream(requests);
    if (typeof requests === 'object' && requests !== null && !Buffer.isBuffer(requests)) {
      const r = requests as Partial<AsyncIterable<unknown> & Iterable<unknown> & PromiseLike<unknown>>;
      if (typeof r[Symbol.asyncIterator] === 'function') return new PullUpstream(r[Symbol.asyncIterator]!());
      if (typeof r[Symbol.iterator] === 'function') return new PullUpstream(r[Symbol.iterator]!());
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

/** What an iterator's `next()` gave, if it is an iterator result; else the RequestProblem saying what it was. */
export function iteratorResult(read: unknown): IteratorResult<unknown> {
  if (typeof read === 'object' && read !== null) return read as IteratorResult<unknown>;
  throw new RequestProblem(`the request iterator's next() gave ${read === null ? 'null' : `a ${typeof read}`}, not an iterator result`);
}

/** An iterable or AsyncIterable: read only when asked, so it goes no faster than the wire. */
class PullUpstream implements Upstream {
  private closed = false;

  constructor(private readonly iterator: Iterator<unknown> | AsyncIterator<unknown>) {}

  start(): void {
    // nothing is read before an attempt asks
  }

  next(waiter: RequestWaiter<unknown>): IteratorResult<unknown> | null {
    const read: unknown = this.iterator.next();
    if (!isPromiseLike<unknown>(read)) return iteratorResult(read);
    // a promise of the caller's (or a thenable: taken in by a real promise, so it answers once, later)
    Promise.resolve(read).then(
      (r) => {
        let result: IteratorResult<unknown>;
        try {
          result = iteratorResult(r);
        } catch (error) {
          return waiter.failed(error);
        }
        waiter.ready(result);
      },
      (error: unknown) => waiter.failed(error),
    );
    return null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      const returned = this.iterator.return?.();
      if (isPromiseLike(returned)) returned.then(undefined, () => undefined);
    } catch {
      // the caller's iterator failed to close: it is over for the call either way
    }
  }
}

/**
 * An Observable or a Promise, taken from the start of the call (a hot source loses nothing while
 * the call waits for its metadata, plugins or a permit): what it pushes waits here until read, or
 * goes at once to the reader waiting for it (the writer then writes it within the push).
 */
class PushUpstream implements Upstream, PushTaker {
  private readonly queue = new Fifo<unknown>();
  private ending: { error: unknown } | { done: true } | undefined;
  private waiter: RequestWaiter<unknown> | undefined;
  private subscription: Subscription | undefined;
  private started = false;
  private closed = false;

  constructor(private readonly source: Observable<unknown> | PromiseLike<unknown>) {}

  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    const subscription = takePushes(this.source, this);
    // the call may have ended inside subscribe (its own subscriber aborted it): let go at once
    if (this.closed) unsubscribe(subscription);
    else this.subscription = subscription;
  }

  next(waiter: RequestWaiter<unknown>): IteratorResult<unknown> | null {
    this.start();
    if (this.queue.length > 0) return { done: false, value: this.queue.shift() };
    if (this.ending) {
      if ('error' in this.ending) throw this.ending.error;
      return { done: true, value: undefined };
    }
    this.waiter = waiter;
    return null;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.clear();
    this.waiter = undefined;
    const subscription = this.subscription;
    this.subscription = undefined;
    if (subscription) unsubscribe(subscription);
  }

  push(value: unknown): void {
    if (this.closed) return;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) waiter.ready({ done: false, value });
    else this.queue.push(value);
  }

  end(ending: { error: unknown } | { done: true }): void {
    if (this.ending) return;
    this.ending = ending;
    const waiter = this.waiter;
    this.waiter = undefined;
    if (!waiter) return;
    if ('error' in ending) waiter.failed(ending.error);
    else waiter.ready({ done: true, value: undefined });
  }
}

/** Who takes what a pushing stream pushes, then how it ended. */
export interface PushTaker {
  push(value: unknown): void;
  end(ending: { error: unknown } | { done: true }): void;
}

/**
 * Subscribes `taker` to a pushing stream: an Observable (whose `subscribe` may throw: that is its
 * end), or a Promise (its value, then the end). Returns what lets go of it.
 */
export function takePushes(source: Observable<unknown> | PromiseLike<unknown>, taker: PushTaker): Subscription {
  if (!isObservable(source)) {
    Promise.resolve(source).then(
      (value) => {
        taker.push(value);
        taker.end({ done: true });
      },
      (error: unknown) => taker.end({ error }),
    );
    return Subscription.EMPTY;
  }
  try {
    return source.subscribe({
      next: (value) => taker.push(value),
      error: (error: unknown) => taker.end({ error }),
      complete: () => taker.end({ done: true }),
    });
  } catch (error) {
    taker.end({ error });
    return Subscription.EMPTY;
  }
}

/** Unsubscribes from the caller's stream; a teardown of the caller's that throws is the caller's (the call is over either way). */
export function unsubscribe(subscription: Subscription): void {
  try {
    subscription.unsubscribe();
  } catch {
    // nothing to do: the stream is let go of as far as this call goes
  }
}
