import { asyncScheduler, type SchedulerLike, type Subscription } from 'rxjs';
import { isLocalFailure } from '../errors/mesh-client.error.js';
import { AttemptGate, type AttemptHooks, type AttemptRunner, type GatedAttempt, type GateOwner } from './attempt-gate.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import type { RetryBudget } from './retry-budget.js';
import { retryDecision, type RetryDecisionInput, type RetryEvent } from './retry-decision.js';
import type { ResolvedRetryPolicy } from '../config/policies.js';

/** Where a loop delivers its call's outcome: responses, then one end, each with the attempt it came from (0: none). */
export interface CallSink<T> {
  value(value: T, attempt: number): void;
  end(error: unknown, attempt: number): void;
}

/** What both loops need for one call (or one subscription of an operator). */
export interface LoopConfig<T> {
  /** Starts attempt `n`. */
  readonly attempt: AttemptRunner<T>;
  readonly budget?: RetryBudget;
  readonly breaker?: CircuitBreaker;
  /** The error of a call the open breaker refused, after `attempts` attempts. */
  readonly rejection?: (attempts: number) => unknown;
  /** Overall deadline, epoch ms (Infinity: none). */
  readonly deadline: number;
  readonly hooks?: AttemptHooks;
  /** Told how long each answered attempt took (a concurrency limit's latency feed). */
  readonly onLatency?: (ms: number) => void;
  /** Where a hook failing after its call ended is reported. */
  readonly onLateHookError?: (error: unknown) => void;
  readonly now: () => number;
  /** Where waits run; RxJS's async scheduler unless a test gives its own. */
  readonly scheduler?: SchedulerLike;
}

/** Everything the retry loop needs. */
export interface AttemptLoopConfig<T> extends LoopConfig<T> {
  /** Retries of the call; undefined: one attempt (replays aside). */
  readonly retry?: ResolvedRetryPolicy;
  /** An attempt that hit its own timeout may be retried. */
  readonly idempotent: boolean;
  /** Several responses: the first reaches the caller at once and commits the call. Otherwise the one response is held until its attempt ended. */
  readonly streamsResponses: boolean;
  /** True once the requests can no longer be sent again (a request stream past its replay buffer). */
  readonly requestsCommitted?: () => boolean;
  /** Told when the call commits (its first response). */
  readonly onCommit?: () => void;
  readonly onRetry?: (event: RetryEvent) => void;
  readonly random: () => number;
}

/** The error of a call the open breaker refused, when the config has none of its own. */
export const breakerOpen = (): Error => new Error('circuit breaker is open');

/**
 * The retry loop: attempts one after another through the gate, retried as gRFC A6 has it (only
 * retryable codes, never after a response arrived, backoff or server pushback, the budget, never
 * past the deadline), plus one 'replay' per call when an `after` hook asks. The engine of the
 * client's non-hedged calls and of the `retryCall` / `circuitBreaker` operators. A local failure
 * (the caller's request, a plugin) ends the call at once and counts for nothing.
 */
export class AttemptLoop<T> implements GateOwner<T>, RetryDecisionInput {
  /** Attempts started so far (replays included). */
  attempts = 0;
  private readonly gate: AttemptGate<T>;
  private current: GatedAttempt<T> | undefined;
  private wait: Subscription | undefined;
  private backoffN = 0;
  private replayed = false;
  private hasCommitted = false;
  private held: { value: T } | undefined;
  private done = false;

  constructor(
    private readonly config: AttemptLoopConfig<T>,
    private readonly out: CallSink<T>,
  ) {
    const retryable = config.retry?.retryableCodes;
    this.gate = new AttemptGate({
      runner: config.attempt,
      breaker: config.breaker,
      budget: config.budget,
      takesToken: retryable && ((code) => retryable.has(code)),
      hooks: config.hooks,
      onLatency: config.onLatency,
      streamsResponses: config.streamsResponses,
      onLateHookError: config.onLateHookError,
    });
  }

  get policy(): ResolvedRetryPolicy {
    return this.config.retry!;
  }

  get budget(): RetryBudget | undefined {
    return this.config.budget;
  }

  get deadline(): number {
    return this.config.deadline;
  }

  get idempotent(): boolean {
    return this.config.idempotent;
  }

  now(): number {
    return this.config.now();
  }

  random(): number {
    return this.config.random();
  }

  committed(): boolean {
    return this.hasCommitted || this.config.requestsCommitted?.() === true;
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
    if (!this.config.streamsResponses) {
      this.held = { value };
      return;
    }
    if (!this.hasCommitted) {
      this.hasCommitted = true;
      this.config.onCommit?.();
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
    const retry = this.config.retry;
    const tries = this.attempts - (this.replayed ? 1 : 0);
    const next = retry && tries < retry.maxAttempts ? retryDecision(error, this, this.backoffN + 1) : undefined;
    if (!next) return this.finish(error, attempt.n);
    this.backoffN = next.pushback ? 0 : this.backoffN + 1;
    this.config.onRetry?.({ attempt: this.attempts, error: error as RetryEvent['error'], delayMs: next.delayMs, pushback: next.pushback });
    this.wait = (this.config.scheduler ?? asyncScheduler).schedule(() => {
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
    const attempt = this.gate.open(n, this);
    if (!attempt) return this.finish((this.config.rejection ?? breakerOpen)(this.attempts), 0);
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
