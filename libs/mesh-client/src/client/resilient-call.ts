import { status as Status, type Metadata } from '@grpc/grpc-js';
import { Observable, type Observable as Obs } from 'rxjs';
import { localError } from '../errors/to-mesh-error.js';
import { circuitBreaker } from '../resilience/circuit-breaker.operator.js';
import { ReplayableRequests } from '../resilience/replayable-requests.js';
import type { ResolvedRetryPolicy } from '../resilience/retry-policy.js';
import { retryCall, type RetryEvent } from '../resilience/retry.operator.js';
import { attempt$ } from './attempts.js';
import type { ChannelPool } from './channel-pool.js';
import type { MethodInfo } from './method-table.js';
import type { PipelineDeps, PipelinePolicy } from './pipeline-policy.js';

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
  readonly onRetry?: (event: RetryEvent) => void;
}

/**
 * The attempts of one call in the order the design fixes: retry outside, the breaker around each
 * attempt, the attempt (with its own deadline) inside. Request streams are made replayable for
 * retries (see ReplayableRequests); server and bidi streams commit on their first response.
 */
export function resilientCall$<T>(plan: CallPlan): Obs<T> {
  const { method, retry, policy, deps } = plan;
  const breaker = policy.breakers?.for(method.name);
  const retrying = retry !== false && retry.maxAttempts > 1;
  if (!retrying && !breaker) return attempt$<T>({ channels: plan.channels, method, request: plan.request, metadata: plan.metadata, deadline: plan.deadline, connectTimeoutMs: plan.connectTimeoutMs, attempt: 1 });
  const streamsRequests = method.kind === 'client-stream' || method.kind === 'bidi';
  const streamsResponses = method.kind === 'server-stream' || method.kind === 'bidi';
  return new Observable<T>((subscriber) => {
    const requests = retrying && streamsRequests ? new ReplayableRequests(plan.request as Obs<unknown>) : undefined;
    let attempts = 0;
    let committed = false;
    const budget = retrying ? policy.budget : undefined;
    const perAttempt = retry ? retry.perAttemptTimeoutMs : undefined;
    const oneAttempt$ = new Observable<T>((inner) => {
      attempts++;
      committed = false;
      let metadata = plan.metadata;
      if (attempts > 1) {
        metadata = plan.metadata.clone();
        metadata.set(PREVIOUS_ATTEMPTS_KEY, String(attempts - 1));
      }
      const deadline = perAttempt === undefined ? plan.deadline : Math.min(plan.deadline, deps.now() + perAttempt);
      const request = requests ? requests.attempt$ : plan.request;
      return attempt$<T>({ channels: plan.channels, method, request, metadata, deadline, connectTimeoutMs: plan.connectTimeoutMs, attempt: attempts }).subscribe({
        next: (value) => {
          if (streamsResponses) committed = true;
          inner.next(value);
        },
        error: (error: { code?: number }) => {
          if (budget && retry && retry.retryableCodes.has(error.code ?? -1)) budget.onFailure();
          inner.error(error);
        },
        complete: () => {
          budget?.onSuccess();
          inner.complete();
        },
      });
    });
    const rejected = () =>
      localError(method.site, Status.UNAVAILABLE, `circuit breaker of client '${method.site.client}' is open; the call was not sent`, {
        category: 'circuit-open',
        retryable: true,
        attempts,
      });
    const guarded$ = breaker ? oneAttempt$.pipe(circuitBreaker(breaker, rejected)) : oneAttempt$;
    const call$ = !retrying
      ? guarded$
      : guarded$.pipe(
          retryCall({
            policy: retry,
            budget,
            deadline: plan.deadline,
            idempotent: plan.idempotent,
            committed: () => committed || (requests !== undefined && !requests.replayable),
            now: deps.now,
            random: deps.random,
            onRetry: plan.onRetry,
          }),
        );
    const sub = call$.subscribe(subscriber);
    return () => {
      sub.unsubscribe();
      requests?.close();
    };
  });
}

