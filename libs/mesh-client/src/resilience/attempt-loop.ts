import { status } from '@grpc/grpc-js';
import { asyncScheduler, type Observable, type Observer, type SchedulerLike, type Subscription } from 'rxjs';
import { isLocalFailure, isMeshClientError } from '../errors/mesh-client.error.js';
import { outcomeOf, type CircuitBreaker } from './circuit-breaker.js';
import type { RetryBudget } from './retry-budget.js';
import { retryDecision, type RetryDecisionInput, type RetryEvent } from './retry-decision.js';
import type { ResolvedRetryPolicy } from './retry-policy.js';

/** How one attempt ended, as the `after` hook sees it. */
export interface AttemptOutcome {
  /** The attempt's error; undefined when it succeeded. */
  readonly error: unknown;
  /** A response already reached the caller, or the requests cannot be sent again. */
  readonly committed: boolean;
}

/** Work around each attempt (the plugins' per-attempt hooks). Either may throw to fail the call. */
export interface AttemptHooks {
  /** After the breaker admitted attempt `n`, before it starts. */
  before?(n: number): void | PromiseLike<void>;
  /** When attempt `n` ended; 'replay' asks for one more attempt of an uncommitted call. */
  after?(n: number, outcome: AttemptOutcome): void | 'replay' | PromiseLike<void | 'replay'>;
}

/** Everything the loop needs for one call (or one subscription of an operator). */
export interface AttemptLoopConfig<T> {
  /** Attempt `n` (1-based) as a cold Observable. */
  readonly attempt: (n: number) => Observable<T>;
  /** Retries of the call; undefined: one attempt (replays aside). */
  readonly retry?: ResolvedRetryPolicy;
  readonly budget?: RetryBudget;
  readonly breaker?: CircuitBreaker;
  /** The error of a call the open breaker refused, after `attempts` attempts. */
  readonly rejection?: (attempts: number) => unknown;
  /** Overall deadline, epoch ms (Infinity: none). */
  readonly deadline: number;
  /** An attempt that hit its own timeout may be retried. */
  readonly idempotent: boolean;
  /** Several responses: the first reaches the caller at once and commits the call. Otherwise the one response is held until its attempt ended. */
  readonly streamsResponses: boolean;
  /** True once the requests can no longer be sent again (a request stream past its replay buffer). */
  readonly requestsCommitted?: () => boolean;
  /** Told when the call commits (its first response). */
  readonly onCommit?: () => void;
  readonly onRetry?: (event: RetryEvent) => void;
  readonly hooks?: AttemptHooks;
  readonly now: () => number;
  readonly random: () => number;
  /** Where the backoff waits run; RxJS's async scheduler unless a test gives its own. */
  readonly scheduler?: SchedulerLike;
}

type Stage = 'idle' | 'admitted' | 'running' | 'ending' | 'waiting' | 'done';

const isPromiseLike = <V>(value: unknown): value is PromiseLike<V> => typeof (value as PromiseLike<V> | undefined)?.then === 'function';

/**
 * The attempts of one call, in the order the design fixes: retry outside, the breaker around each
 * attempt, hooks around the attempt inside. The one engine behind the client's calls and the
 * exported `retryCall` / `circuitBreaker` operators: one place for the retry decision, the
 * backoff state, the budget and breaker admission. An attempt that fails on this side (a local
 * failure: the caller's request, a plugin) ends the call at once and counts for nothing.
 */
export class AttemptLoop<T> implements Observer<T>, RetryDecisionInput {
  /** Attempts started so far (replays included). */
  attempts = 0;
  private stage: Stage = 'idle';
  private backoffN = 0;
  private replayed = false;
  private hasCommitted = false;
  private held: { value: T } | undefined;
  private current: Subscription | undefined;
  private wait: Subscription | undefined;
  private seq = 0;

  constructor(
    private readonly c: AttemptLoopConfig<T>,
    private readonly out: Observer<T>,
  ) {}

  get policy(): ResolvedRetryPolicy {
    return this.c.retry!;
  }

  get budget(): RetryBudget | undefined {
    return this.c.budget;
  }

  get deadline(): number {
    return this.c.deadline;
  }

  get idempotent(): boolean {
    return this.c.idempotent;
  }

  now(): number {
    return this.c.now();
  }

  random(): number {
    return this.c.random();
  }

  committed(): boolean {
    return this.hasCommitted || this.c.requestsCommitted?.() === true;
  }

  /** Starts the first attempt (unless the breaker refuses it). */
  start(): void {
    this.admit();
  }

  /** The subscriber left: cancel the running attempt or the wait, release a breaker admission. */
  stop(): void {
    if (this.stage === 'done') return;
    if (this.stage === 'admitted' || this.stage === 'running') this.c.breaker?.record('ignored');
    this.stage = 'done';
    this.wait?.unsubscribe();
    this.current?.unsubscribe();
  }

  next(value: T): void {
    if (!this.c.streamsResponses) {
      this.held = { value };
      return;
    }
    if (!this.hasCommitted) {
      this.hasCommitted = true;
      this.c.onCommit?.();
    }
    this.out.next(value);
  }

  error(error: unknown): void {
    if (this.stage !== 'running') return;
    this.stage = 'ending';
    this.current = undefined;
    const local = isLocalFailure(error);
    const code = isMeshClientError(error) ? error.code : status.UNKNOWN;
    this.c.breaker?.record(local ? 'ignored' : isMeshClientError(error) ? outcomeOf(code) : 'failure');
    if (!local && this.c.budget && this.c.retry?.retryableCodes.has(code)) this.c.budget.onFailure();
    if (local) return this.finish(error);
    this.afterHook(error, (verdict) => this.decide(error, verdict));
  }

  complete(): void {
    if (this.stage !== 'running') return;
    this.stage = 'ending';
    this.current = undefined;
    this.c.breaker?.record('success');
    this.c.budget?.onSuccess();
    this.afterHook(undefined, () => {
      if (this.stage === 'done') return;
      this.stage = 'done';
      const held = this.held;
      this.held = undefined;
      if (held) this.out.next(held.value);
      this.out.complete();
    });
  }

  private admit(): void {
    if (this.stage === 'done') return;
    const breaker = this.c.breaker;
    if (breaker && !breaker.tryAcquire()) return this.finish(this.c.rejection?.(this.attempts) ?? new Error('circuit breaker is open'));
    this.stage = 'admitted';
    const n = this.attempts + 1;
    const before = this.c.hooks?.before;
    if (!before) return this.launch(n);
    let pending: void | PromiseLike<void>;
    try {
      pending = before(n);
    } catch (error) {
      return this.refuse(error);
    }
    if (!isPromiseLike(pending)) return this.launch(n);
    pending.then(
      () => this.launch(n),
      (error: unknown) => this.refuse(error),
    );
  }

  /** An admitted attempt that never started: release the admission, fail the call. */
  private refuse(error: unknown): void {
    if (this.stage !== 'admitted') return;
    this.c.breaker?.record('ignored');
    this.finish(error);
  }

  private launch(n: number): void {
    if (this.stage !== 'admitted') return;
    this.stage = 'running';
    this.attempts = n;
    this.hasCommitted = false;
    this.held = undefined;
    const seq = ++this.seq;
    const subscription = this.c.attempt(n).subscribe(this);
    // the attempt may have ended (and a replay started) inside subscribe()
    if (seq === this.seq && this.stage === 'running') this.current = subscription;
  }

  private afterHook(error: unknown, then: (verdict: void | 'replay') => void): void {
    const after = this.c.hooks?.after;
    if (!after) return then(undefined);
    let verdict: void | 'replay' | PromiseLike<void | 'replay'>;
    try {
      verdict = after(this.attempts, { error, committed: error === undefined || this.committed() });
    } catch (thrown) {
      return this.finish(thrown);
    }
    if (!isPromiseLike(verdict)) return then(verdict);
    verdict.then(
      (v) => {
        if (this.stage === 'ending') then(v);
      },
      (thrown: unknown) => this.finish(thrown),
    );
  }

  private decide(error: unknown, verdict: void | 'replay'): void {
    if (this.stage !== 'ending') return;
    if (verdict === 'replay' && !this.replayed && !this.committed()) {
      this.replayed = true;
      return this.admit();
    }
    const retry = this.c.retry;
    const tries = this.attempts - (this.replayed ? 1 : 0);
    const next = retry && tries < retry.maxAttempts ? retryDecision(error, this, this.backoffN + 1) : undefined;
    if (!next) return this.finish(error);
    this.backoffN = next.pushback ? 0 : this.backoffN + 1;
    this.c.onRetry?.({ attempt: this.attempts, error: error as RetryEvent['error'], delayMs: next.delayMs, pushback: next.pushback });
    this.stage = 'waiting';
    this.wait = (this.c.scheduler ?? asyncScheduler).schedule(() => {
      this.wait = undefined;
      this.admit();
    }, next.delayMs);
  }

  private finish(error: unknown): void {
    if (this.stage === 'done') return;
    this.stage = 'done';
    this.out.error(error);
  }
}
