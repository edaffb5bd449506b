import type { PermitWaiter, QueueTicket } from './concurrency-limiter.js';

/** One waiter in the queue (a node of a doubly linked list: removed in O(1) from anywhere). */
export class QueuedPermit implements QueueTicket {
  prev: QueuedPermit | undefined;
  next: QueuedPermit | undefined;
  timer: NodeJS.Timeout | undefined;
  queued = true;

  constructor(
    private readonly queue: PermitQueue,
    readonly waiter: PermitWaiter,
  ) {}

  withdraw(): void {
    this.queue.remove(this);
  }
}

/**
 * The FIFO of calls waiting for a permit. A waiter that leaves is unlinked at once, so the queue
 * holds exactly the calls still waiting (and nothing of the ones that left: their requests are
 * free to be collected).
 */
export class PermitQueue {
  private head: QueuedPermit | undefined;
  private tail: QueuedPermit | undefined;
  private length = 0;

  get size(): number {
    return this.length;
  }

  push(waiter: PermitWaiter): QueuedPermit {
    const entry = new QueuedPermit(this, waiter);
    entry.prev = this.tail;
    if (this.tail) this.tail.next = entry;
    else this.head = entry;
    this.tail = entry;
    this.length++;
    return entry;
  }

  /** The longest waiting entry, taken out of the queue. */
  shift(): QueuedPermit | undefined {
    const entry = this.head;
    if (entry) this.remove(entry);
    return entry;
  }

  /** Takes `entry` out; false when it had already left. */
  remove(entry: QueuedPermit): boolean {
    if (!entry.queued) return false;
    entry.queued = false;
    if (entry.timer) clearTimeout(entry.timer);
    entry.timer = undefined;
    if (entry.prev) entry.prev.next = entry.next;
    else this.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else this.tail = entry.prev;
    entry.prev = entry.next = undefined;
    this.length--;
    return true;
  }
}
