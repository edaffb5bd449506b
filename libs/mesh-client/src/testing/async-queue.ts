/**
 * An AsyncIterable fed by pushes: what a handler reads a request stream from (messages are taken
 * from grpc-js as they arrive, so that the fake records them even when the handler does not read),
 * and what an Observable of responses is read through. One reader.
 */
export class AsyncQueue<T> implements AsyncIterable<T> {
  private readonly buffered: T[] = [];
  private waiting: { resolve: (r: IteratorResult<T>) => void; reject: (e: unknown) => void } | undefined;
  private done = false;
  private failure: { error: unknown } | undefined;

  /** Adds a value (ignored once ended). */
  push(value: T): void {
    if (this.done) return;
    if (this.waiting) {
      this.take().resolve({ value, done: false });
    } else {
      this.buffered.push(value);
    }
  }

  /** Ends the stream after the values already pushed. */
  end(): void {
    if (this.done) return;
    this.done = true;
    if (this.waiting) this.take().resolve({ value: undefined, done: true });
  }

  /** Ends the stream with `error` after the values already pushed. */
  fail(error: unknown): void {
    if (this.done) return;
    this.done = true;
    this.failure = { error };
    if (this.waiting) this.take().reject(error);
  }

  [Symbol.asyncIterator](): AsyncIterator<T> {
    return {
      next: () => {
        if (this.buffered.length > 0) return Promise.resolve({ value: this.buffered.shift()!, done: false });
        if (this.failure) return Promise.reject(this.failure.error);
        if (this.done) return Promise.resolve({ value: undefined, done: true });
        return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
      },
      return: () => {
        this.buffered.length = 0;
        this.done = true;
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private take(): NonNullable<AsyncQueue<T>['waiting']> {
    const waiting = this.waiting!;
    this.waiting = undefined;
    return waiting;
  }
}
