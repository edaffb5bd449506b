import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import type { ResolvedRetryPolicy } from '../config/policies.js';
import { isLocalFailure } from '../errors/mesh-client.error.js';
import {
  openGate,
  type AttemptHooks,
  type AttemptSink,
  type GatedAttempt,
  type GateOwner,
  type GateSettings,
  type RunningAttempt,
} from './attempt-gate.js';
import type { RetryBudget } from './retry-budget.js';
import { retryDecision, type RetryDecisionInput, type RetryEvent } from './retry-decision.js';

/** Where a loop delivers its call's outcome: responses, then one end, each with the attempt it came from (0: none). */
export interface CallSink<T> {
  value(value: T, attempt: number): void;
  end(error: unknown, attempt: number): void;
}

/** What a loop needs that is the same for every call of a method (made once, shared). */
export interface LoopSettings extends GateSettings {
  /** The error of a call the open breaker refused, after `attempts` attempts. */
  readonly rejection?: (attempts: number) => unknown;
  readonly now: () => number;
  /** Where waits run; RxJS's async scheduler unless a test gives its own. */
  readonly scheduler?: SchedulerLike;
}

/** What the retry loop needs that is the same for every call of a method. */
export interface RetryLoopSettings extends LoopSettings {
  /** Retries of the call; undefined: one attempt (replays aside). */
  readonly retry?: ResolvedRetryPolicy;
  /** An attempt that hit its own timeout may be retried. */
  readonly idempotent: boolean;
  /** Several responses: the first reaches the caller at once and commits the call. Otherwise the one response is held until its attempt ended. */
  readonly streamsResponses: boolean;
  readonly random: () => number;
}

/** One call, as a loop runs it: its deadline, how an attempt starts, and what it is told. */
export interface LoopCall<T> {
  /** Overall deadline, epoch ms (Infinity: none). */
  readonly deadline: number;
  readonly hooks?: AttemptHooks;
  /** Starts attempt `n` (1-based), which reports to `sink`, possibly before this returns. */
  attempt(n: number, sink: AttemptSink<T>): RunningAttempt;
  /** True once the requests can no longer be sent again (a request stream past its replay buffer). */
  requestsCommitted?(): boolean;
  /** Told when the call commits (its first response). */
  committed?(): void;
  /** Told of each retry. */
  retried?(event: RetryEvent): void;
  /** Told of each hedged copy sent (attempt 2 on). */
  hedged?(n: number): void;
}

/** The error of a call the open breaker refused, when the settings have none of their own. */
export const breakerOpen = (): Error => new Error('circuit breaker is open');

/** The gate settings of a retry loop: a failure with a retryable code takes a budget token (gRFC A6). */
export function retryGate(settings: Omit<RetryLoopSettings, 'takesToken'>): RetryLoopSettings {
  const retryable = settings.retry?.retryableCodes;
  return { ...settings, takesToken: retryable && ((code) => retryable.has(code)) };
}

/**
 * The retry loop: attempts one after another through the gate, retried as gRFC A6 has it (only
 * retryable codes, never after a response arrived, backoff or server pushback, the budget, never
 * past the deadline), plus one 'replay' per call when an `after` hook asks. The engine of the
 * client's non-hedged calls and of the `retryCall` / `circuitBreaker` operators. A local failure
 * (the caller's request, a plugin) ends the call at once and counts for nothing. `settings` are
 * shared by the calls of a method (give them through `retryGate`); `call` is this call's.
 */
export class AttemptLoop<T> implements GateOwner<T>, RetryDecisionInput {
  /** Attempts started so far (replays included). */
  attempts = 0;
  private current: GatedAttempt<T> | undefined;
  private wait: Subscription | undefined;
  private backoffN = 0;
  private replayed = false;
  private hasCommitted = false;
  private held: { value: T } | undefined;
  private done = false;

  constructor(
    readonly gate: RetryLoopSettings,
    private readonly call: LoopCall<T>,
    private readonly out: CallSink<T>,
  ) {}

  get hooks(): AttemptHooks | undefined {
    return this.call.hooks;
  }

  get policy(): ResolvedRetryPolicy {
    return this.gate.retry!;
  }

  get budget(): RetryBudget | undefined {
    return this.gate.budget;
  }

  get deadline(): number {
    return this.call.deadline;
  }

  get idempotent(): boolean {
    return this.gate.idempotent;
  }

  now(): number {
    return this.gate.now();
  }

  random(): number {
    return this.gate.random();
  }

  run(n: number, sink: AttemptSink<T>): RunningAttempt {
    return this.call.attempt(n, sink);
  }

  committed(): boolean {
    return this.hasCommitted || this.call.requestsCommitted?.() === true;
  }

  committedAfter(error: unknown): boolean {
    return error === undefined || this.committed();
  }

  /** Starts the first attempt (unless the breaker refuses it). */
  start(): void {
    this.admit();
  }

  /**
   * The call is over from outside (its subscriber left, its deadline passed): the attempt running
   * or waiting its hooks is stopped, its `after` hooks see `error`; `counts`: the server is to blame.
   */
  stop(error: unknown, counts = false): void {
    if (this.done) return;
    this.done = true;
    this.wait?.unsubscribe();
    this.wait = undefined;
    const current = this.current;
    this.current = undefined;
    current?.stop(error, counts);
  }

  attemptValue(_attempt: GatedAttempt<T>, value: T): void {
    if (this.done) return;
    if (!this.gate.streamsResponses) {
      this.held = { value };
      return;
    }
    if (!this.hasCommitted) {
      this.hasCommitted = true;
      this.call.committed?.();
    }
    this.out.value(value, this.attempts);
  }

  attemptEnded(attempt: GatedAttempt<T>, error: unknown, verdict: 'replay' | undefined): void {
    if (this.done || attempt !== this.current) return;
    this.current = undefined;
    if (error === undefined) return this.succeed(attempt.n);
    if (isLocalFailure(error)) return this.finish(error, attempt.n);
    if (verdict === 'replay' && !this.replayed && !this.committed()) {
      this.replayed = true;
      return this.admit();
    }
    const retry = this.gate.retry;
    const tries = this.attempts - (this.replayed ? 1 : 0);
    const next = retry && tries < retry.maxAttempts ? retryDecision(error, this, this.backoffN + 1) : undefined;
    if (!next) return this.finish(error, attempt.n);
    this.backoffN = next.pushback ? 0 : this.backoffN + 1;
    this.call.retried?.({ attempt: this.attempts, error: error as RetryEvent['error'], delayMs: next.delayMs, pushback: next.pushback });
    this.wait = (this.gate.scheduler ?? asyncScheduler).schedule(() => {
      this.wait = undefined;
      // the call may have committed while it waited (a request stream pushed past what is kept for replay)
      if (this.committed()) this.finish(error, attempt.n);
      else this.admit();
    }, next.delayMs);
  }

  hookFailed(attempt: GatedAttempt<T>, error: unknown): void {
    if (this.current === attempt) this.current = undefined;
    this.finish(error, attempt.n);
  }

  private admit(): void {
    if (this.done) return;
    const n = this.attempts + 1;
    this.hasCommitted = false;
    this.held = undefined;
    const attempt = openGate(this, n);
    if (!attempt) return this.finish((this.gate.rejection ?? breakerOpen)(this.attempts), 0);
    this.attempts = n;
    this.current = attempt;
    attempt.begin();
  }

  private succeed(n: number): void {
    this.done = true;
    const held = this.held;
    this.held = undefined;
    if (held) this.out.value(held.value, n);
    this.out.end(undefined, n);
  }

  private finish(error: unknown, n: number): void {
    if (this.done) return;
    this.done = true;
    this.out.end(error, n);
  }
}
