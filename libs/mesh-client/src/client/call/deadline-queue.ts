/** A call as the deadline queue holds it: when it is due, and the links the queue keeps on it. */
export interface Due {
  /** `performance.now()` at which the call's deadline passes (set by the queue). */
  due: number;
  /** @internal the queue's links (the entry due just before and just after). */
  earlier: Due | undefined;
  /** @internal */
  later: Due | undefined;
  /** @internal whether the queue holds it. */
  queued: boolean;
  /** The deadline passed: told once, after the queue let go of the entry. */
  expire(): void;
}

/**
 * The deadlines of one client's calls in flight, in the order they fall due, with one timer armed
 * for the earliest instead of a timer per call; it is also the list of calls in flight that a
 * shutdown cancels. Calls mostly share a timeout, so a new one goes last at once. A call that
 * settles is unlinked and leaves the timer as it is (it fires, finds nothing due, and is armed for
 * the next); the timer is cleared as soon as nothing is queued, so it never holds the process.
 * Due times are on the monotonic clock: a wall clock set back does not hold a call past its time.
 */
export class DeadlineQueue {
  private first: Due | undefined;
  private last: Due | undefined;
  private count = 0;
  private timer: NodeJS.Timeout | undefined;
  /** `performance.now()` the timer is armed for (Infinity: none). */
  private timerAt = Infinity;
  private readonly fire = (): void => this.expireDue();

  constructor(
    /** Told when the last entry left. */
    private readonly onIdle: () => void,
    /** Told of an error thrown while an entry expired (the others still expire). */
    private readonly onError: (error: unknown) => void,
  ) {}

  /** Entries queued. */
  get size(): number {
    return this.count;
  }

  /** Queues `entry`, due `ms` from now. */
  add(entry: Due, ms: number): void {
    if (entry.queued) this.unlink(entry);
    const due = performance.now() + ms;
    entry.due = due;
    let before = this.last;
    while (before !== undefined && before.due > due) before = before.earlier;
    entry.earlier = before;
    entry.later = before === undefined ? this.first : before.later;
    if (before === undefined) this.first = entry;
    else before.later = entry;
    if (entry.later === undefined) this.last = entry;
    else entry.later.earlier = entry;
    entry.queued = true;
    this.count++;
    if (due < this.timerAt) this.arm(due);
  }

  /** Lets go of `entry` (no-op when it is not queued). */
  remove(entry: Due): void {
    if (!entry.queued) return;
    this.unlink(entry);
    if (this.count > 0) return;
    this.disarm();
    this.onIdle();
  }

  /** The entries queued now, earliest first. */
  entries(): Due[] {
    const all: Due[] = [];
    for (let e = this.first; e !== undefined; e = e.later) all.push(e);
    return all;
  }

  private unlink(entry: Due): void {
    const { earlier, later } = entry;
    if (earlier === undefined) this.first = later;
    else earlier.later = later;
    if (later === undefined) this.last = earlier;
    else later.earlier = earlier;
    entry.earlier = entry.later = undefined;
    entry.queued = false;
    this.count--;
  }

  private arm(due: number): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = due;
    // a timer may run up to a millisecond before its time on this clock: it is then armed again for the rest
    this.timer = setTimeout(this.fire, Math.max(1, Math.ceil(due - performance.now())));
  }

  private disarm(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = Infinity;
  }

  private expireDue(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = performance.now();
    let entry = this.first;
    while (entry !== undefined && entry.due <= now) {
      this.unlink(entry);
      try {
        entry.expire();
      } catch (error) {
        this.onError(error);
      }
      entry = this.first;
    }
    if (this.first === undefined) {
      this.disarm();
      this.onIdle();
    } else if (this.first.due < this.timerAt) {
      this.arm(this.first.due);
    }
  }
}
