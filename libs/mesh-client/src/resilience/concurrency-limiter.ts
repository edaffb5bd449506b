import { MAX_TIMER_MS } from '../config/defaults.js';
import type { ResolvedConcurrencyPolicy } from '../config/policies.js';
import { AdaptiveLimit } from './adaptive-limit.js';
import { PermitQueue, type QueuedPermit } from './permit-queue.js';

/** Why a call got no permit. */
export type LimitedReason = 'queue_full' | 'queue_timeout';

/** A call's right to be in flight; given back once, when the call ends. */
export interface Permit {
  /** Gives the place back. `rttMs` (optional) is a latency sample for an adaptive limit. */
  release(rttMs?: number): void;
}

/** Who waits for a permit: told once, either way. Neither may throw (the limiter goes on if one does). */
export interface PermitWaiter {
  granted(permit: Permit): void;
  refused(reason: LimitedReason): void;
}

/** A wait in the queue: withdrawing it (the caller left, its deadline passed) frees its place at once. */
export interface QueueTicket {
  withdraw(): void;
}

/** What the limiter tells its owner (metrics). */
export interface LimiterEvents {
  onLimit?(limit: number): void;
  onLimited?(reason: LimitedReason): void;
}

/** One place in flight. */
class Place implements Permit {
  private released = false;

  constructor(private readonly limiter: ConcurrencyLimiter) {}

  release(rttMs?: number): void {
    if (this.released) return;
    this.released = true;
    this.limiter.returned(rttMs);
  }
}

const NOTHING: QueueTicket = { withdraw: () => undefined };

/**
 * At most `limit` calls in flight; the next ones wait in a FIFO queue of at most `maxQueue` for
 * at most `queueTimeoutMs`, beyond which they are refused at once. A waiter that leaves (its call
 * cancelled or past its deadline: the call's owner withdraws it) leaves the queue at once. Permits
 * are handed on in a loop, never by recursion, so a queue of any length drains even when every
 * call it admits fails at once. A fixed limit or an adaptive one (AdaptiveLimit), fed by `sample`.
 */
export class ConcurrencyLimiter {
  private inflight = 0;
  private readonly queue = new PermitQueue();
  private readonly adaptive: AdaptiveLimit | undefined;
  private readonly fixed: number;
  private draining = false;

  constructor(
    readonly policy: ResolvedConcurrencyPolicy,
    private readonly now: () => number,
    random: () => number,
    private readonly events: LimiterEvents = {},
  ) {
    this.fixed = typeof policy.limit === 'number' ? policy.limit : 0;
    this.adaptive = typeof policy.limit === 'number' ? undefined : new AdaptiveLimit(policy.limit, now, random, (l) => this.changed(l));
    events.onLimit?.(this.limit);
  }

  /** The limit now. */
  get limit(): number {
    return this.adaptive ? this.adaptive.limit : this.fixed;
  }

  /** Calls holding a permit now. */
  get active(): number {
    return this.inflight;
  }

  /** Calls waiting for a permit now. */
  get waiting(): number {
    return this.queue.size;
  }

  /**
   * A permit for one call: granted at once (synchronously) when one is free and nobody waits,
   * else after a wait in the queue; refused (synchronously) when the queue is full. The wait ends
   * with a refusal after `queueTimeoutMs` if that comes before `waitMs` (the call's remaining
   * deadline, which the caller enforces by withdrawing).
   */
  acquire(waiter: PermitWaiter, waitMs: number): QueueTicket {
    if (this.inflight < this.limit && this.queue.size === 0) {
      waiter.granted(this.grant());
      return NOTHING;
    }
    if (this.queue.size >= this.policy.maxQueue) {
      this.events.onLimited?.('queue_full');
      waiter.refused('queue_full');
      return NOTHING;
    }
    const entry = this.queue.push(waiter);
    const timeoutMs = this.policy.queueTimeoutMs;
    if (timeoutMs !== undefined && timeoutMs < waitMs) entry.timer = setTimeout(() => this.timedOut(entry), Math.min(timeoutMs, MAX_TIMER_MS));
    return entry;
  }

  /** A permit now if one is free and nobody waits for it (a hedged copy never jumps the queue), else undefined. */
  tryAcquire(): Permit | undefined {
    return this.inflight < this.limit && this.queue.size === 0 ? this.grant() : undefined;
  }

  /** A latency sample of a call the server answered (an adaptive limit learns from it). */
  sample(rttMs: number): void {
    this.adaptive?.sample(rttMs, this.now() - rttMs);
  }

  /** @internal a permit came back. */
  returned(rttMs: number | undefined): void {
    this.inflight--;
    if (rttMs !== undefined) this.sample(rttMs);
    this.drain();
  }

  private grant(): Permit {
    this.inflight++;
    return new Place(this);
  }

  private timedOut(entry: QueuedPermit): void {
    if (!this.queue.remove(entry)) return;
    this.events.onLimited?.('queue_timeout');
    entry.waiter.refused('queue_timeout');
  }

  /** Hands free permits to the longest waiting calls, in a loop (re-entered calls just return). */
  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      while (this.inflight < this.limit) {
        const entry = this.queue.shift();
        if (!entry) break;
        const permit = this.grant();
        try {
          entry.waiter.granted(permit);
        } catch {
          permit.release();
        }
      }
    } finally {
      this.draining = false;
    }
  }

  private changed(limit: number): void {
    this.events.onLimit?.(limit);
    this.drain();
  }
}
