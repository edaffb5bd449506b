import type { Observable, Subscription } from 'rxjs';
import { FlowControl } from './flow-control.js';

import { DEFAULT_HIGH_WATER_MARK } from '../../config/defaults.js';

/**
 * A call as an AsyncIterable: messages are pulled by the consumer; when it falls `highWaterMark`
 * messages behind, reading stops (HTTP/2 flow control then holds the server back), and resumes
 * once it caught up by half. Every message received is delivered, in order, before the call's
 * error or end. Leaving the loop (break, return, throw) cancels the call. Each iteration is one
 * call (subscribed on the first `next()`).
 */
export function callIterable<T>(call: (flow: FlowControl) => Observable<T>, highWaterMark = DEFAULT_HIGH_WATER_MARK): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]: () => new CallIterator(call, highWaterMark),
  };
}

type Ending = { readonly error: unknown } | { readonly complete: true };

interface Pending<T> {
  resolve(result: IteratorResult<T>): void;
  reject(error: unknown): void;
}

class CallIterator<T> implements AsyncIterator<T> {
  private readonly flow = new FlowControl();
  private readonly buffer: T[] = [];
  /** `next()` calls waiting for a message, oldest first (they settle in order). */
  private readonly pending: Pending<T>[] = [];
  private subscription: Subscription | undefined;
  private ending: Ending | undefined;
  private finished = false;

  constructor(
    private readonly call: (flow: FlowControl) => Observable<T>,
    private readonly highWaterMark: number,
  ) {}

  next(): Promise<IteratorResult<T>> {
    if (this.finished && this.buffer.length === 0) return Promise.resolve({ value: undefined, done: true });
    this.subscription ??= this.call(this.flow).subscribe({
      next: (value) => this.push(value),
      error: (error: unknown) => this.end({ error }),
      complete: () => this.end({ complete: true }),
    });
    if (this.pending.length === 0 && this.buffer.length > 0) return Promise.resolve(this.take());
    if (this.pending.length === 0 && this.ending) return this.settleEnd();
    return new Promise((resolve, reject) => this.pending.push({ resolve, reject }));
  }

  /** The consumer left the loop: cancel the call, end every waiting `next()`. */
  return(): Promise<IteratorResult<T>> {
    this.subscription?.unsubscribe();
    this.finished = true;
    this.ending ??= { complete: true };
    this.buffer.length = 0;
    for (const waiting of this.pending.splice(0)) waiting.resolve({ value: undefined, done: true });
    return Promise.resolve({ value: undefined, done: true });
  }

  private push(value: T): void {
    const waiting = this.pending.shift();
    if (waiting) return waiting.resolve({ value, done: false });
    this.buffer.push(value);
    if (this.buffer.length >= this.highWaterMark) this.flow.pause();
  }

  private take(): IteratorResult<T> {
    const value = this.buffer.shift()!;
    if (this.buffer.length <= this.highWaterMark / 2) this.flow.resume();
    return { value, done: false };
  }

  /** The call ended: messages still buffered go first; waiting `next()` calls get the end. */
  private end(ending: Ending): void {
    this.ending ??= ending;
    while (this.pending.length > 0) {
      const waiting = this.pending.shift()!;
      if ('error' in ending && !this.finished) {
        this.finished = true;
        waiting.reject(ending.error);
      } else {
        this.finished = true;
        waiting.resolve({ value: undefined, done: true });
      }
    }
  }

  /** The end, once: the error for the first `next()` after the messages, then done. */
  private settleEnd(): Promise<IteratorResult<T>> {
    const ending = this.ending!;
    if (this.finished || !('error' in ending)) {
      this.finished = true;
      return Promise.resolve({ value: undefined, done: true });
    }
    this.finished = true;
    return Promise.reject(ending.error);
  }
}
