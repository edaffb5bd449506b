/** The part of a grpc-js response stream flow control needs (a Node Readable). */
interface PausableStream {
  pause(): unknown;
  resume(): unknown;
  once(event: 'close', fn: () => void): unknown;
}

/**
 * Pauses and resumes the response stream of a call's attempts for a consumer that pulls. A paused
 * grpc-js stream stops taking messages; once its own small buffer is full grpc-js stops reading
 * the HTTP/2 stream, whose flow-control window then stops the server's writes.
 */
export class FlowControl {
  private paused = false;
  private readonly streams = new Set<PausableStream>();

  /** The response stream of an attempt; paused at once if the consumer is behind. */
  attach(stream: PausableStream): void {
    this.streams.add(stream);
    stream.once('close', () => this.streams.delete(stream));
    if (this.paused) stream.pause();
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    for (const s of this.streams) s.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    for (const s of this.streams) s.resume();
  }
}

/** Where a call's FlowControl travels inside its CallOptions (not an option users set). */
export const FLOW_CONTROL = Symbol('@datapunk/mesh-client/flow-control');
