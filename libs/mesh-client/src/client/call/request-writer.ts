import type { GrpcCall } from './wire-attempt.js';

/**
 * Writes a request stream into a grpc-js call one message at a time, as grpc-js takes them: the
 * next message goes when the previous one was written (its callback), the half-close after the
 * last. Messages the caller's stream gives meanwhile wait here.
 */
export class RequestWriter {
  private readonly waiting: Buffer[] = [];
  private writing = false;
  private ending = false;
  private ended = false;
  private closed = false;

  constructor(private readonly call: GrpcCall) {}

  write(message: Buffer): void {
    this.waiting.push(message);
    this.pump();
  }

  end(): void {
    this.ending = true;
    this.pump();
  }

  /** The attempt is over: nothing more is written. */
  close(): void {
    this.closed = true;
    this.waiting.length = 0;
  }

  /** Sends what waits, one message per write callback; a loop, so a callback made at once never recurses. */
  private pump(): void {
    while (!this.writing && !this.closed) {
      const next = this.waiting.shift();
      if (next === undefined) {
        if (this.ending && !this.ended) {
          this.ended = true;
          this.call.halfClose();
        }
        return;
      }
      this.writing = true;
      let inline = true;
      let writtenInline = false;
      this.call.sendMessageWithContext(
        {
          callback: () => {
            this.writing = false;
            if (inline) writtenInline = true;
            else this.pump();
          },
        },
        next,
      );
      inline = false;
      if (!writtenInline) return;
    }
  }
}
