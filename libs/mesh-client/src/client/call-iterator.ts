import type { Observable, Subscription } from 'rxjs';
import { FlowControl } from './flow-control.js';

/** Messages a consumer may fall behind before the stream is paused. */
export const DEFAULT_HIGH_WATER_MARK = 16;

/**
 * A call as an AsyncIterable: messages are pulled by the consumer; when it falls `highWaterMark`
 * messages behind, the stream is paused (HTTP/2 flow control then holds the server back), and
 * resumed once it caught up by half. Leaving the loop (break, return, throw) cancels the call.
 * Each iteration is one call (subscribed on the first `next()`).
 */
export function callIterable<T>(call: (flow: FlowControl) => Observable<T>, highWaterMark = DEFAULT_HIGH_WATER_MARK): AsyncIterable<T> {
  return {
    [Symbol.asyncIterator]: () => new CallIterator(call, highWaterMark),
  };
}

class CallIterator<T> implements AsyncIterator<T> {
  private readonly flow = new FlowControl();
  private readonly buffer: T[] = [];
  private subscription: Subscription | undefined;
  private end: { error: unknown } | { complete: true } | undefined;
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;

  constructor(
    private readonly call: (flow: FlowControl) => Observable<T>,
    private readonly highWaterMark: number,
  ) {}

  next(): Promise<IteratorResult<T>> {
    this.subscription ??= this.call(this.flow).subscribe({
      next: (value) => this.push(value),
      error: (error: unknown) => this.finish({ error }),
      complete: () => this.finish({ complete: true }),
    });
    if (this.buffer.length > 0) {
      const value = this.buffer.shift()!;
      if (this.buffer.length <= this.highWaterMark / 2) this.flow.resume();
      return Promise.resolve({ value, done: false });
    }
    if (this.end) return 'error' in this.end ? Promise.reject(this.end.error) : Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
  }

  /** The consumer left the loop: cancel the call. */
  return(): Promise<IteratorResult<T>> {
    this.subscription?.unsubscribe();
    this.end ??= { complete: true };
    this.buffer.length = 0;
    return Promise.resolve({ value: undefined, done: true });
  }

  private push(value: T): void {
    const waiting = this.waiting;
    if (waiting) {
      this.waiting = undefined;
      return waiting.resolve({ value, done: false });
    }
    this.buffer.push(value);
    if (this.buffer.length >= this.highWaterMark) this.flow.pause();
  }

  private finish(end: { error: unknown } | { complete: true }): void {
    this.end ??= end;
    const waiting = this.waiting;
    if (!waiting) return;
    this.waiting = undefined;
    if ('error' in end) waiting.reject(end.error);
    else waiting.resolve({ value: undefined, done: true });
  }
}
