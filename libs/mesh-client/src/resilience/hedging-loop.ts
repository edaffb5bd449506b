import { status } from '@grpc/grpc-js';
import { asyncScheduler, type Observable, type Observer, type SchedulerLike, type Subscription } from 'rxjs';
import { isLocalFailure, isMeshClientError } from '../errors/mesh-client.error.js';
import { withAttempts } from '../errors/to-mesh-error.js';
import type { ResolvedHedgingPolicy } from '../config/policies.js';
import type { AttemptHooks } from './attempt-loop.js';
import { outcomeOf, type CircuitBreaker } from './circuit-breaker.js';
import { MAX_TIMER_MS } from '../config/defaults.js';
import { readPushback } from './pushback.js';
import type { RetryBudget } from './retry-budget.js';

/** Everything the hedging loop needs for one unary call. */
export interface HedgingLoopConfig<T> {
  readonly attempt: (n: number) => Observable<T>;
  readonly hedging: ResolvedHedgingPolicy;
  readonly budget?: RetryBudget;
  readonly breaker?: CircuitBreaker;
  readonly rejection?: (attempts: number) => unknown;
  readonly deadline: number;
  readonly hooks?: AttemptHooks;
  /** Told of every further copy sent (attempt 2 on). */
  readonly onHedge?: (n: number) => void;
  readonly now: () => number;
  readonly scheduler?: SchedulerLike;
}

interface Running {
  subscription: Subscription | undefined;
  value: { v: unknown } | undefined;
  ended: boolean;
}

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> => typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';

/**
 * Hedging as gRFC A6 has it, for unary calls of idempotent methods: a copy of the call every
 * `delayMs` until one succeeds or `maxAttempts` were sent; the first answer wins and the others
 * are cancelled on the wire. A failure with a non-fatal code sends the next copy at once, a fatal
 * one ends the call (the others cancelled). Each copy passes the breaker; the retry budget
 * throttles further copies (a non-fatal failure takes a token, a success gives some back); server
 * pushback delays the next copy by its value, or stops hedging when it says so. Never past the
 * deadline. Plugins see every copy as an attempt.
 */
export class HedgingLoop<T> {
  /** Copies started so far. */
  attempts = 0;
  private readonly running = new Map<number, Running>();
  private timer: Subscription | undefined;
  private stopHedging = false;
  private lastError: unknown;
  /** No further copies, and the ones out are cancelled. */
  private done = false;
  /** The subscriber was told the outcome. */
  private delivered = false;

  constructor(
    private readonly c: HedgingLoopConfig<T>,
    private readonly out: Observer<T>,
  ) {}

  start(): void {
    this.launch();
  }

  /** The subscriber left: cancel every copy and the timer. */
  stop(): void {
    this.delivered = true;
    if (this.done) return;
    this.done = true;
    this.cancelAll();
  }

  private launch(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
    if (this.done) return;
    if (this.stopHedging || this.attempts >= this.c.hedging.maxAttempts) return this.settleIfIdle();
    if (this.attempts > 0 && this.c.budget && !this.c.budget.canRetry()) {
      this.stopHedging = true;
      return this.settleIfIdle();
    }
    if (this.c.breaker && !this.c.breaker.tryAcquire()) {
      this.stopHedging = true;
      if (this.running.size === 0) this.finish(this.c.rejection?.(this.attempts) ?? new Error('circuit breaker is open'));
      return;
    }
    const n = ++this.attempts;
    const slot: Running = { subscription: undefined, value: undefined, ended: false };
    this.running.set(n, slot);
    if (n > 1) this.c.onHedge?.(n);
    const go = (): void => {
      if (this.done || slot.ended) return;
      slot.subscription = this.c.attempt(n).subscribe({
        next: (value) => (slot.value = { v: value }),
        error: (error: unknown) => this.failed(n, slot, error),
        complete: () => this.succeeded(n, slot),
      });
    };
    const before = this.c.hooks?.before;
    let pending: void | PromiseLike<void>;
    try {
      pending = before?.(n);
    } catch (error) {
      return this.refused(n, slot, error);
    }
    if (isPromiseLike(pending)) pending.then(go, (error: unknown) => this.refused(n, slot, error));
    else go();
    if (this.attempts < this.c.hedging.maxAttempts) this.schedule(this.c.hedging.delayMs);
  }

  private schedule(delayMs: number): void {
    this.timer?.unsubscribe();
    if (delayMs > MAX_TIMER_MS || this.c.now() + delayMs >= this.c.deadline) {
      this.timer = undefined;
      return;
    }
    this.timer = (this.c.scheduler ?? asyncScheduler).schedule(() => this.launch(), delayMs);
  }

  /** A copy whose `before` hook threw never went out: release its admission, fail the call. */
  private refused(n: number, slot: Running, error: unknown): void {
    slot.ended = true;
    this.running.delete(n);
    this.c.breaker?.record('ignored');
    this.finish(error);
  }

  private succeeded(n: number, slot: Running): void {
    if (this.done || slot.ended) return;
    slot.ended = true;
    this.running.delete(n);
    this.c.breaker?.record('success');
    this.c.budget?.onSuccess();
    this.done = true;
    this.cancelAll();
    this.after(n, undefined, () => {
      if (this.delivered) return;
      this.delivered = true;
      if (slot.value) this.out.next(slot.value.v as T);
      this.out.complete();
    });
  }

  private failed(n: number, slot: Running, error: unknown): void {
    if (this.done || slot.ended) return;
    slot.ended = true;
    this.running.delete(n);
    const local = isLocalFailure(error);
    const code = isMeshClientError(error) ? error.code : status.UNKNOWN;
    this.c.breaker?.record(local ? 'ignored' : isMeshClientError(error) ? outcomeOf(code) : 'failure');
    const nonFatal = !local && this.c.hedging.nonFatalCodes.has(code) && isMeshClientError(error) && error.category !== 'tls';
    if (nonFatal) this.c.budget?.onFailure();
    this.after(n, error, () => {
      if (!nonFatal) return this.finish(error);
      this.lastError = error;
      const pushback = readPushback(isMeshClientError(error) ? error.trailers : undefined);
      if (pushback.kind === 'stop') this.stopHedging = true;
      if (pushback.kind !== 'wait') return this.launch();
      this.schedule(pushback.ms);
      this.settleIfIdle();
    });
  }

  /** The `after` hook of copy `n`, then `then` (unless the call ended meanwhile or the hook threw). */
  private after(n: number, error: unknown, then: () => void): void {
    const after = this.c.hooks?.after;
    if (!after) return then();
    let result: unknown;
    try {
      result = after(n, { error, committed: error === undefined });
    } catch (thrown) {
      return this.finish(thrown);
    }
    if (!isPromiseLike(result)) return then();
    result.then(then, (thrown: unknown) => this.finish(thrown));
  }

  /** Hedging is over and no copy is out: the call fails with the last copy's error. */
  private settleIfIdle(): void {
    if (this.delivered || this.running.size > 0 || this.timer) return;
    this.finish(this.lastError ?? new Error('no hedged attempt could be sent'));
  }

  private finish(error: unknown): void {
    if (this.delivered) return;
    this.delivered = true;
    this.done = true;
    this.cancelAll();
    this.out.error(withAttempts(error, this.attempts));
  }

  private cancelAll(): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
    for (const slot of this.running.values()) {
      slot.ended = true;
      slot.subscription?.unsubscribe();
      this.c.breaker?.record('ignored');
    }
    this.running.clear();
  }
}
