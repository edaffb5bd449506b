import type { RequestCursor } from './request-source.js';
import type { GrpcCall } from './wire-attempt.js';

/** Messages written in a row before the writer lets the event loop run (grpc-js may call a write back on the next tick). */
const BURST = 64;

const isPromiseLike = <V>(value: unknown): value is PromiseLike<V> => typeof (value as PromiseLike<V> | null)?.then === 'function';

/**
 * Writes a request stream into a grpc-js call as grpc-js takes it: it reads the next message from
 * its cursor only when the previous one was written (its callback), so a stream the caller pulls
 * from (an iterable, an AsyncIterable) is read no faster than the wire takes it; it half-closes
 * after the last. It never recurses on a callback made at once, and lets the event loop run every
 * BURST messages. A stream that fails (or a message that does not encode) goes to `failed`.
 */
export class RequestWriter {
  private writing = false;
  private reading = false;
  private ended = false;
  private closed = false;
  private burst = 0;
  private pause: NodeJS.Immediate | undefined;

  constructor(
    private readonly call: GrpcCall,
    private readonly cursor: RequestCursor,
    private readonly failed: (error: unknown) => void,
  ) {}

  start(): void {
    this.pump();
  }

  /** The attempt is over: nothing more is read or written. */
  close(): void {
    this.closed = true;
    if (this.pause) clearImmediate(this.pause);
    this.pause = undefined;
  }

  private pump(): void {
    while (!this.writing && !this.reading && !this.closed && !this.ended) {
      if (++this.burst > BURST) {
        this.burst = 0;
        this.pause = setImmediate(() => {
          this.pause = undefined;
          this.pump();
        });
        return;
      }
      let next: IteratorResult<Buffer> | Promise<IteratorResult<Buffer>>;
      try {
        next = this.cursor.next();
      } catch (error) {
        return this.fail(error);
      }
      if (!isPromiseLike<IteratorResult<Buffer>>(next)) {
        this.write(next);
        continue;
      }
      this.reading = true;
      next.then(
        (read) => {
          this.reading = false;
          if (this.closed) return;
          this.write(read);
          this.pump();
        },
        (error: unknown) => {
          this.reading = false;
          this.fail(error);
        },
      );
    }
  }

  private write(read: IteratorResult<Buffer>): void {
    if (read.done) {
      this.ended = true;
      this.call.halfClose();
      return;
    }
    this.writing = true;
    let inline = true;
    this.call.sendMessageWithContext(
      {
        callback: () => {
          this.writing = false;
          if (!inline) this.pump();
        },
      },
      read.value,
    );
    inline = false;
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.close();
    this.failed(error);
  }
}
