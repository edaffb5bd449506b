import type { AsyncResource } from 'node:async_hooks';
import type { RequestCursor } from './request-source.js';
import type { RequestWaiter } from './request-upstream.js';
import type { GrpcCall } from './wire-attempt.js';

/** Messages written in a row before the writer lets the event loop run (grpc-js may call a write back on the next tick). */
const BURST = 64;

/**
 * Writes a request stream into a grpc-js call as grpc-js takes it: it reads the next message from
 * its cursor only when the previous one was written (its callback), so a stream the caller pulls
 * from (an iterable, an AsyncIterable) is read no faster than the wire takes it; it half-closes
 * after the last. It never recurses on a callback made at once, and lets the event loop run every
 * BURST messages. A stream that fails (or a message that does not encode) goes to `onFailure`.
 */
export class RequestWriter implements RequestWaiter {
  private writing = false;
  private reading = false;
  private ended = false;
  private closed = false;
  private burst = 0;
  private pause: NodeJS.Immediate | undefined;
  /** The write in progress is still inside `sendMessageWithContext` (its callback must not pump). */
  private inline = false;
  /**
   * One context for every write (they go one at a time): grpc-js calls it back once per message, in
   * the call's scope (a write taken by the socket later calls back in the connection's context).
   */
  private readonly context: { callback: () => void };

  constructor(
    private readonly call: GrpcCall,
    private readonly cursor: RequestCursor,
    private readonly onFailure: (error: unknown) => void,
    private readonly scope?: AsyncResource,
  ) {
    this.context = { callback: scope ? () => scope.runInAsyncScope(this.written, this) : () => this.written() };
  }

  start(): void {
    this.pump();
  }

  /** The attempt is over: nothing more is read or written. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.pause) clearImmediate(this.pause);
    this.pause = undefined;
    this.cursor.close();
  }

  /** Reads and writes while it can; nothing it meets (a stream that throws, a refused write) escapes it. */
  private pump(): void {
    try {
      while (!this.writing && !this.reading && !this.closed && !this.ended) {
        if (++this.burst > BURST) {
          this.burst = 0;
          this.pause = setImmediate(() => {
            this.pause = undefined;
            this.pump();
          });
          return;
        }
        this.reading = true;
        const next = this.cursor.next(this);
        if (next === null) return; // `ready` or `failed` comes later
        this.reading = false;
        this.write(next);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  /**
   * The message the cursor did not have yet (pushed by the caller's stream, maybe from another
   * request's context, or its promise settled): written in the call's scope.
   */
  ready(read: IteratorResult<Buffer>): void {
    if (this.scope) this.scope.runInAsyncScope(this.readyNow, this, read);
    else this.readyNow(read);
  }

  private readyNow(read: IteratorResult<Buffer>): void {
    this.reading = false;
    if (this.closed) return;
    try {
      this.write(read);
    } catch (error) {
      return this.fail(error);
    }
    this.pump();
  }

  failed(error: unknown): void {
    if (this.scope) this.scope.runInAsyncScope(this.failedNow, this, error);
    else this.failedNow(error);
  }

  private failedNow(error: unknown): void {
    this.reading = false;
    this.fail(error);
  }

  private write(read: IteratorResult<Buffer>): void {
    if (read.done) {
      this.ended = true;
      this.call.halfClose();
      return;
    }
    this.writing = true;
    this.inline = true;
    try {
      this.call.sendMessageWithContext(this.context, read.value);
    } finally {
      this.inline = false;
    }
  }

  private written(): void {
    this.writing = false;
    if (!this.inline) this.pump();
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.close();
    this.onFailure(error);
  }
}
