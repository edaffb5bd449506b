import { MAX_TIMER_MS } from '../config/defaults.js';
import type { ResolvedConcurrencyPolicy } from '../config/policies.js';
import { AdaptiveLimit } from './adaptive-limit.js';

/** Why a call got no permit. */
export type LimitedReason = 'queue_full' | 'queue_timeout';

/** A call's right to be in flight; given back once, when the call ends. */
export interface Permit {
  /** `rttMs` of a successful call feeds an adaptive limit. */
  release(rttMs?: number): void;
}

/** What the limiter tells its owner (metrics). */
export interface LimiterEvents {
  onLimit?(limit: number): void;
  onLimited?(reason: LimitedReason): void;
}

interface Waiter {
  granted: (permit: Permit) => void;
  refused: (reason: LimitedReason) => void;
  timer: NodeJS.Timeout | undefined;
  done: boolean;
}

/**
 * At most `limit` calls in flight; the next ones wait in a FIFO queue of `maxQueue` for at most
 * `queueTimeoutMs` (or their remaining deadline), beyond which they are refused at once. A fixed
 * limit or an adaptive one (AdaptiveLimit). A retry keeps its call's permit: permits are per call.
 */
export class ConcurrencyLimiter {
  private inflight = 0;
  private queued = 0;
  private readonly queue: Waiter[] = [];
  private head = 0;
  private readonly adaptive: AdaptiveLimit | undefined;
  private readonly fixed: number;

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
    return this.queued;
  }

  /**
   * A permit for one call, at once when one is free (`granted` runs synchronously), else after a
   * wait in the queue. `refused` when the queue is full or the wait would pass `waitMs`. Returns
   * a function that withdraws a waiting request (the caller left).
   */
  acquire(granted: (permit: Permit) => void, refused: (reason: LimitedReason) => void, waitMs: number): () => void {
    if (this.inflight < this.limit && this.waiting === 0) {
      granted(this.grant());
      return noop;
    }
    if (this.waiting >= this.policy.maxQueue) {
      this.events.onLimited?.('queue_full');
      refused('queue_full');
      return noop;
    }
    const waiter: Waiter = { granted, refused, timer: undefined, done: false };
    const ms = Math.min(this.policy.queueTimeoutMs ?? waitMs, waitMs, MAX_TIMER_MS);
    waiter.timer = setTimeout(
      () => {
        if (waiter.done) return;
        waiter.done = true;
        this.queued--;
        this.events.onLimited?.('queue_timeout');
        refused('queue_timeout');
      },
      Math.max(0, ms),
    );
    this.queue.push(waiter);
    this.queued++;
    return () => {
      if (waiter.done) return;
      waiter.done = true;
      this.queued--;
      clearTimeout(waiter.timer);
    };
  }

  private grant(): Permit {
    this.inflight++;
    const startedAt = this.now();
    let released = false;
    return {
      release: (rttMs) => {
        if (released) return;
        released = true;
        this.inflight--;
        if (rttMs !== undefined) this.adaptive?.sample(rttMs, startedAt);
        this.drain();
      },
    };
  }

  /** Hands free permits to the longest waiting calls. */
  private drain(): void {
    while (this.inflight < this.limit && this.head < this.queue.length) {
      const waiter = this.queue[this.head++]!;
      if (waiter.done) continue;
      waiter.done = true;
      this.queued--;
      clearTimeout(waiter.timer);
      waiter.granted(this.grant());
    }
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
  }

  private changed(limit: number): void {
    this.events.onLimit?.(limit);
    this.drain();
  }
}

const noop = (): void => undefined;
