import { status as Status, type Metadata } from '@grpc/grpc-js';
import { Observable, type Observer, type Subscriber, type Subscription } from 'rxjs';
import { isMeshClientError } from '../errors/mesh-client.error.js';
import { localError } from '../errors/to-mesh-error.js';
import { withoutStackTrace } from '../errors/without-stack-trace.js';
import { outcomeOf, type CircuitBreaker } from '../resilience/circuit-breaker.js';
import { ReplayableRequests } from '../resilience/replayable-requests.js';
import type { RetryBudget } from '../resilience/retry-budget.js';
import { DEFAULT_RETRY_POLICY, type ResolvedRetryPolicy } from '../resilience/retry-policy.js';
import { retryDecision, type RetryDecisionInput, type RetryEvent } from '../resilience/retry.operator.js';
import { attempt$ } from './attempts.js';
import type { ChannelPool } from './channel-pool.js';
import type { MethodInfo } from './method-table.js';
import type { PipelineDeps, PipelinePolicy } from './pipeline-policy.js';

/** The policy of a call without retries: one attempt, nothing retryable (a breaker-only loop). */
const NO_RETRY: ResolvedRetryPolicy = Object.freeze({ ...DEFAULT_RETRY_POLICY, maxAttempts: 1, retryableCodes: new Set<number>(), budget: false as const });

/** Metadata key that tells the server how many attempts came before this one (gRFC A6). */
export const PREVIOUS_ATTEMPTS_KEY = 'grpc-previous-rpc-attempts';

/** One call, ready to run: everything decided before the first attempt. */
export interface CallPlan {
  readonly channels: ChannelPool;
  readonly method: MethodInfo;
  readonly request: unknown;
  readonly metadata: Metadata;
  readonly deadline: number;
  readonly connectTimeoutMs: number;
  readonly retry: ResolvedRetryPolicy | false;
  readonly idempotent: boolean;
  readonly policy: PipelinePolicy;
  readonly deps: PipelineDeps;
  /** Told of every retry (the call's telemetry). */
  readonly retries?: { onRetry(event: RetryEvent): void };
}

/**
 * The attempts of one call, in the order the design fixes: retry outside, the breaker around each
 * attempt, the attempt (with its deadline) inside. A fused loop over the same pieces the
 * `retryCall` and `circuitBreaker` operators adapt (`retryDecision`, `CircuitBreaker`): one
 * Observable per call instead of an operator chain, which the benchmarks showed to be the costly
 * part of a call. Request streams are made replayable for retries (ReplayableRequests); server
 * and bidi streams commit on their first response.
 */
class AttemptLoop<T> implements Observer<T>, RetryDecisionInput {
  readonly policy: ResolvedRetryPolicy;
  readonly budget: RetryBudget | undefined;
  readonly deadline: number;
  readonly idempotent: boolean;
  readonly now: () => number;
  readonly random: () => number;
  private readonly requests: ReplayableRequests<unknown> | undefined;
  private readonly streamsResponses: boolean;
  private attempts = 0;
  private backoffN = 0;
  private hasCommitted = false;
  private inAttempt = false;
  private current: Subscription | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly plan: CallPlan,
    private readonly breaker: CircuitBreaker | undefined,
    retry: ResolvedRetryPolicy | undefined,
    private readonly subscriber: Subscriber<T>,
  ) {
    this.policy = retry ?? NO_RETRY;
    this.budget = retry ? plan.policy.budget : undefined;
    this.deadline = plan.deadline;
    this.idempotent = plan.idempotent;
    this.now = plan.deps.now;
    this.random = plan.deps.random;
    const kind = plan.method.kind;
    this.streamsResponses = kind === 'server-stream' || kind === 'bidi';
    this.requests = retry && (kind === 'client-stream' || kind === 'bidi') ? new ReplayableRequests(plan.request as Observable<unknown>) : undefined;
  }

  committed(): boolean {
    return this.hasCommitted || (this.requests !== undefined && !this.requests.replayable);
  }

  /** Starts the next attempt, unless the breaker refuses it. */
  attempt(): void {
    const { plan, breaker } = this;
    if (breaker && !breaker.tryAcquire()) {
      const details = `circuit breaker of client '${plan.method.site.client}' is open; the call was not sent`;
      // a rejection is the fast path of an outage: its stack would only show RxJS and this loop
      const error = withoutStackTrace(() => localError(plan.method.site, Status.UNAVAILABLE, details, { category: 'circuit-open', retryable: true, attempts: this.attempts }));
      this.subscriber.error(error);
      return;
    }
    this.attempts++;
    this.hasCommitted = false;
    let metadata = plan.metadata;
    if (this.attempts > 1) {
      metadata = plan.metadata.clone();
      metadata.set(PREVIOUS_ATTEMPTS_KEY, String(this.attempts - 1));
    }
    const perAttempt = this.policy.perAttemptTimeoutMs;
    const deadline = perAttempt === undefined ? plan.deadline : Math.min(plan.deadline, this.now() + perAttempt);
    const request = this.requests ? this.requests.attempt$ : plan.request;
    this.inAttempt = true;
    this.current = attempt$<T>({ channels: plan.channels, method: plan.method, request, metadata, deadline, connectTimeoutMs: plan.connectTimeoutMs, attempt: this.attempts }).subscribe(this);
  }

  next(value: T): void {
    if (this.streamsResponses && !this.hasCommitted) {
      this.hasCommitted = true;
      this.requests?.release(); // committed: the kept requests will never be replayed
    }
    this.subscriber.next(value);
  }

  error(error: unknown): void {
    this.inAttempt = false;
    const code = isMeshClientError(error) ? error.code : Status.UNKNOWN;
    this.breaker?.record(isMeshClientError(error) ? outcomeOf(code) : 'failure');
    if (this.budget && this.policy.retryableCodes.has(code)) this.budget.onFailure();
    const next = this.attempts < this.policy.maxAttempts ? retryDecision(error, this, this.backoffN + 1) : undefined;
    if (!next) return this.subscriber.error(error);
    this.backoffN = next.pushback ? 0 : this.backoffN + 1;
    this.plan.retries?.onRetry({ attempt: this.attempts, error: error as never, delayMs: next.delayMs, pushback: next.pushback });
    this.timer = setTimeout(() => this.attempt(), next.delayMs);
  }

  complete(): void {
    this.inAttempt = false;
    this.breaker?.record('success');
    this.budget?.onSuccess();
    this.subscriber.complete();
  }

  /** The subscriber left, or the call ended: stop everything, tell the breaker about a cut attempt. */
  stop(): void {
    clearTimeout(this.timer);
    this.current?.unsubscribe();
    if (this.inAttempt) {
      this.inAttempt = false;
      this.breaker?.record('ignored');
    }
    this.requests?.close();
  }
}

/** The Observable of one call's attempts (see AttemptLoop); a bare attempt when neither retry nor breaker is on. */
export function resilientCall$<T>(plan: CallPlan): Observable<T> {
  const breaker = plan.policy.breakers?.for(plan.method.name);
  const retry = plan.retry !== false && plan.retry.maxAttempts > 1 ? plan.retry : undefined;
  if (!retry && !breaker) {
    const { channels, method, request, metadata, deadline, connectTimeoutMs } = plan;
    return attempt$<T>({ channels, method, request, metadata, deadline, connectTimeoutMs, attempt: 1 });
  }
  return new Observable<T>((subscriber) => {
    const loop = new AttemptLoop<T>(plan, breaker, retry, subscriber);
    loop.attempt();
    return () => loop.stop();
  });
}
