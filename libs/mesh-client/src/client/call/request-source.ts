import { status as Status } from '@grpc/grpc-js';
import { REPLAY_BUFFER_MESSAGES } from '../../config/defaults.js';
import type { MeshClientError } from '../../errors/mesh-client.error.js';
import { localError } from '../../errors/to-mesh-error.js';
import type { MethodInfo } from '../../proto/method-table.js';
import { ownRequestError } from './request-stream-failure.js';
import { upstreamOf, type RequestWaiter, type Upstream } from './request-upstream.js';

/**
 * One attempt's reading of a request stream: the next message now, or null when it is not there
 * yet (then `waiter` is told once, as soon as it comes: a message an Observable pushes goes on at
 * once, with no promise between). One read at a time: the next once the last was answered.
 * Throws when the stream failed or the message does not fit.
 */
export interface RequestCursor {
  next(waiter: RequestWaiter): IteratorResult<Buffer> | null;
  /** The attempt is over: its waiter hears nothing more (a message read for it stays with the source). */
  close(): void;
}

const DONE: IteratorResult<Buffer> = { done: true, value: undefined };

/** Messages dropped at once from the front of what is kept for cursors behind (see `trim`). */
const TRIM_STEP = 64;

/**
 * The request stream of one client- or bidi-streaming call, read on demand by its attempts, one
 * message per write: an iterable or AsyncIterable is pulled only as fast as the wire takes its
 * messages (an endless generator neither blocks the process nor fills its memory); an Observable
 * (or a Promise) is taken from the start of the call (`start()`), and what it pushes waits here
 * until written. Every message is checked and encoded as it is read (`onMessage` counts it), once
 * for all attempts. While the call may be sent again (retries, hedging, a plugin's replay or
 * re-subscription), the messages read are kept (up to REPLAY_BUFFER_MESSAGES) and each new
 * attempt gets them again before the rest; past that (or once the call committed) the call is no
 * longer `replayable`: no new attempt may start, but the attempts already reading still get every
 * message they have not sent (what an open cursor is behind on is kept until it passed it). A read
 * the stream answers after its attempt ended is not lost: it goes to the attempts that wait for
 * it, or is kept for the next.
 */
export class RequestSource implements RequestWaiter<unknown> {
  /** Messages `base` to `count - 1`: all of them while replayable, then what open cursors still need. */
  private readonly buffer: Buffer[] = [];
  private base = 0;
  /** Messages read from upstream so far (a cursor at this position waits for upstream). */
  private count = 0;
  private overflowed: boolean;
  /** The cursors of attempts still running. */
  private readonly cursors = new Set<AttemptCursor>();
  private readonly upstream: Upstream;
  /** Cursors waiting for the message at `count`: a read of upstream is in flight for them. */
  private readonly waiting: AttemptCursor[] = [];
  private reading = false;
  /** How the stream ended, once it did (every later read gets it). */
  private ending: { error: unknown } | { done: true } | undefined;
  private closed = false;

  constructor(
    private readonly method: MethodInfo,
    requests: unknown,
    keep: boolean,
    private readonly onMessage?: () => void,
  ) {
    this.overflowed = !keep;
    this.upstream = upstreamOf(method, requests);
  }

  /** Takes a pushing stream from now on (an Observable is subscribed: nothing it pushes later is lost). */
  start(): void {
    if (!this.closed) this.upstream.start();
  }

  /** True while every message read so far can be sent again. */
  get replayable(): boolean {
    return !this.overflowed;
  }

  /** The messages of one attempt: those kept, then the ones still to come. */
  open(): RequestCursor {
    const cursor = new AttemptCursor(this);
    this.cursors.add(cursor);
    return cursor;
  }

  /** The call committed (no more retries): keep only what the attempts still running have not sent. */
  release(): void {
    this.overflowed = true;
    this.trim();
  }

  /** The call is over: let go of the caller's stream (an iterator is returned, an Observable unsubscribed). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.overflowed = true;
    this.buffer.length = 0;
    this.cursors.clear();
    this.waiting.length = 0;
    this.upstream.close();
  }

  /** @internal the message at `cursor`'s position: kept, or read from upstream (null: the cursor hears later). */
  read(cursor: AttemptCursor): IteratorResult<Buffer> | null {
    const position = cursor.position;
    if (position < this.count) {
      if (position < this.base) throw this.notAgain();
      cursor.position++;
      const value = this.buffer[position - this.base]!;
      if (this.overflowed && position === this.base) this.trim();
      return { done: false, value };
    }
    if (this.ending) {
      if ('error' in this.ending) throw this.ending.error;
      return DONE;
    }
    if (this.reading) {
      this.waiting.push(cursor);
      return null;
    }
    this.reading = true;
    let read: IteratorResult<unknown> | null;
    try {
      read = this.upstream.next(this); // (it answers later through `ready`, never within this call)
    } catch (error) {
      this.reading = false;
      this.ending = { error };
      throw error;
    }
    if (read === null) {
      this.waiting.push(cursor);
      return null;
    }
    this.reading = false;
    const taken = this.take(read, cursor);
    cursor.position = this.count;
    return taken;
  }

  /** @internal `cursor`'s attempt is over: it waits no more (what is read meanwhile stays here, while anything may need it). */
  forget(cursor: AttemptCursor): void {
    const i = this.waiting.indexOf(cursor);
    if (i >= 0) this.waiting.splice(i, 1);
    if (this.cursors.delete(cursor) && this.overflowed) this.trim();
  }

  /**
   * Past replaying: drops the messages every open cursor has passed, all at once when none is
   * behind, else in steps of TRIM_STEP (a cursor far behind, reading one at a time, would make
   * dropping one per read quadratic; what is kept meanwhile is still exactly `base` onwards).
   */
  private trim(): void {
    let needed = this.count;
    for (const cursor of this.cursors) if (cursor.position < needed) needed = cursor.position;
    if (needed <= this.base) return;
    if (needed === this.count) this.buffer.length = 0;
    else if (needed - this.base >= TRIM_STEP) this.buffer.splice(0, needed - this.base);
    else return;
    this.base = needed;
  }

  /** Upstream's answer to the read in flight: to every cursor waiting for it, and kept for the others. */
  ready(read: IteratorResult<unknown>): void {
    this.reading = false;
    if (this.closed) return;
    let taken: IteratorResult<Buffer>;
    try {
      taken = this.take(read, undefined);
    } catch (error) {
      return this.failed(error);
    }
    const position = this.count;
    // usually one attempt waits (no array made per message); hedged copies may wait side by side
    if (this.waiting.length === 1) {
      const cursor = this.waiting.pop()!;
      cursor.position = position;
      return cursor.ready(taken);
    }
    // (a cursor told may read on at once: the others are at this message, not where it got to)
    for (const cursor of this.waiting.splice(0)) {
      cursor.position = position;
      cursor.ready(taken);
    }
  }

  failed(error: unknown): void {
    this.reading = false;
    if (this.closed) return;
    this.ending ??= { error };
    for (const cursor of this.waiting.splice(0)) cursor.failed(error);
  }

  /** A message read from upstream: counted, checked, encoded, kept for a retry (`reader`: the cursor reading it now; else the ones waiting get it). */
  private take(read: IteratorResult<unknown>, reader: AttemptCursor | undefined): IteratorResult<Buffer> {
    if (read.done) {
      this.ending = { done: true };
      return DONE;
    }
    this.onMessage?.();
    let bytes: Buffer;
    try {
      bytes = this.method.encode(read.value);
    } catch (error) {
      this.ending = { error };
      throw error;
    }
    const index = this.count++;
    if (!this.overflowed && this.buffer.length >= REPLAY_BUFFER_MESSAGES) this.overflowed = true;
    if (!this.overflowed) this.buffer.push(bytes);
    else if (this.alone(reader) || !this.behind(index, reader)) {
      // only handed on, and nothing before it is needed either (only the attempts getting it now are open)
      this.buffer.length = 0;
      this.base = this.count;
    } else {
      // kept while an open attempt is behind it
      this.trim();
      this.buffer.push(bytes);
    }
    return { done: false, value: bytes };
  }

  /**
   * Whether no open cursor is there but the one getting the message now (`reader`, or the one
   * waiting): the usual stream past replaying, where `behind` is false without a walk of the cursors.
   */
  private alone(reader: AttemptCursor | undefined): boolean {
    const { cursors } = this;
    if (cursors.size !== 1) return cursors.size === 0;
    return reader !== undefined ? cursors.has(reader) : this.waiting.length === 1 && cursors.has(this.waiting[0]!);
  }

  /**
   * Whether an open cursor other than those getting message `index` now (`reader`, or the ones
   * waiting) will still need it: one behind, or one at it that is not reading (its write is in progress).
   */
  private behind(index: number, reader: AttemptCursor | undefined): boolean {
    for (const cursor of this.cursors) {
      if (cursor.position > index || cursor === reader) continue;
      if (reader !== undefined || !this.waiting.includes(cursor)) return true;
    }
    return false;
  }

  /** An attempt that would have to send again what was no longer kept (a plugin's re-subscription past the replay buffer). */
  private notAgain(): MeshClientError {
    const details = `the request stream cannot be sent again: ${String(this.count)} messages were read and the first ${String(
      this.base,
    )} are no longer kept (a response arrived, or more than ${String(REPLAY_BUFFER_MESSAGES)} were read)`;
    const error = localError(this.method.site, Status.INTERNAL, details, { local: true });
    return ownRequestError(error);
  }
}

/** One attempt's cursor: the kept messages from its position, then upstream's. */
class AttemptCursor implements RequestCursor, RequestWaiter {
  position = 0;
  private waiter: RequestWaiter | undefined;

  constructor(private readonly source: RequestSource) {}

  next(waiter: RequestWaiter): IteratorResult<Buffer> | null {
    this.waiter = waiter;
    const read = this.source.read(this);
    if (read !== null) this.waiter = undefined;
    return read;
  }

  ready(read: IteratorResult<Buffer>): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.ready(read);
  }

  failed(error: unknown): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    waiter?.failed(error);
  }

  close(): void {
    this.waiter = undefined;
    this.source.forget(this);
  }
}
