/** A response stream that stopped reading because its consumer is behind. */
export interface FlowReader {
  /** The consumer caught up: read the next message. */
  resumeReading(): void;
}

/**
 * The consumer's side of a call's response stream (iterate()): while it is paused, an attempt
 * reads on only what the server already sent (READ_AHEAD_BYTES, about one HTTP/2 window), then
 * parks here; grpc-js then stops reading the HTTP/2 stream, whose flow-control window stops the
 * server's writes. Resuming lets the parked attempts read on.
 */
export class FlowControl {
  private isPaused = false;
  private pauses = 0;
  private readonly parked = new Set<FlowReader>();

  /** True while the consumer is behind. */
  get paused(): boolean {
    return this.isPaused;
  }

  /** Counts the pauses: a reader tells one pause from the next by it. */
  get epoch(): number {
    return this.pauses;
  }

  /** `reader` waits for the consumer before reading on. */
  park(reader: FlowReader): void {
    this.parked.add(reader);
  }

  /** `reader` ended: nothing to resume. */
  forget(reader: FlowReader): void {
    this.parked.delete(reader);
  }

  pause(): void {
    if (!this.isPaused) this.pauses++;
    this.isPaused = true;
  }

  resume(): void {
    if (!this.isPaused) return;
    this.isPaused = false;
    const readers = [...this.parked];
    this.parked.clear();
    for (const reader of readers) reader.resumeReading();
  }
}
