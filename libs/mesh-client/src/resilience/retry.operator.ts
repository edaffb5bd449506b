import { Observable, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import { AttemptLoop, retryGate } from './attempt-loop.js';
import { observableRunner, observerSink } from './observable-runner.js';
import type { RetryBudget } from './retry-budget.js';
import type { RetryEvent } from './retry-decision.js';
import type { ResolvedRetryPolicy } from '../config/policies.js';

/** Everything the retry operator needs to know about the calls it retries. */
export interface RetryConfig {
  readonly policy: ResolvedRetryPolicy;
  /** A retry budget (gRFC A6 throttling), shared by every subscription; undefined when off. */
  readonly budget: RetryBudget | undefined;
  /**
   * Overall deadline, epoch ms (Infinity for none): no backoff wait is taken that would end at or
   * past it. It does not end an attempt: each attempt carries its own deadline (a MeshClient
   * call's `deadline` call option), as every call of the client does.
   */
  readonly deadline: number;
  /** An attempt that hit its own timeout may be retried (safe to repeat). */
  readonly idempotent: boolean;
  /** True once retrying is no longer possible for a reason outside the source (e.g. requests not replayable). */
  readonly committed?: () => boolean;
  /** The source emits a stream of responses: the first one commits the call (no retry after it). Default true. */
  readonly streamsResponses?: boolean;
  readonly now: () => number;
  readonly random: () => number;
  readonly scheduler?: SchedulerLike;
  readonly onRetry?: (event: RetryEvent) => void;
}

/**
 * Retries failed attempts as gRFC A6 has it: only retryable codes (an attempt's own timeout only
 * when `idempotent`), never a circuit-open rejection, never after a response arrived, at most
 * `maxAttempts` in all, waiting the server's pushback or a jittered exponential backoff (which
 * restarts from `initialBackoffMs` after a pushback), only while the budget allows and never past
 * the deadline: when the next wait cannot fit, the last error is delivered at once. Only a
 * MeshClientError (what a MeshClient call fails with) is retried; anything else ends the call as it
 * is. Each subscription is one call with its own backoff state. Identity when `maxAttempts` is 1.
 * Runs the same engine as the client's calls (AttemptLoop, through the attempt gate).
 *
 * @example
 * attempt$.pipe(retryCall({ policy, budget, deadline: Date.now() + 5000, idempotent: false, now: Date.now, random: Math.random }))
 */
export function retryCall<T>(config: RetryConfig): MonoTypeOperatorFunction<T> {
  if (config.policy.maxAttempts <= 1) return (source) => source;
  return (source) =>
    new Observable<T>((subscriber) => {
      const loop = new AttemptLoop<T>(
        retryGate({
          retry: config.policy,
          budget: config.budget,
          idempotent: config.idempotent,
          streamsResponses: config.streamsResponses ?? true,
          now: config.now,
          random: config.random,
          scheduler: config.scheduler,
        }),
        {
          deadline: config.deadline,
          attempt: observableRunner(() => source),
          requestsCommitted: config.committed,
          retried: config.onRetry,
        },
        observerSink(subscriber),
      );
      loop.start();
      return () => loop.stop(undefined);
    });
}
