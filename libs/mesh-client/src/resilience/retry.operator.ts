import { status } from '@grpc/grpc-js';
import { retry, timer, type MonoTypeOperatorFunction, type SchedulerLike } from 'rxjs';
import { isMeshClientError, type MeshClientError } from '../errors/mesh-client.error.js';
import { backoffDelay } from './backoff.js';
import { readPushback } from './pushback.js';
import type { RetryBudget } from './retry-budget.js';
import type { ResolvedRetryPolicy } from './retry-policy.js';

/** What a retry is about to do (for logs, metrics and tracing). */
export interface RetryEvent {
  /** The attempt that failed (1-based). */
  readonly attempt: number;
  readonly error: MeshClientError;
  readonly delayMs: number;
  /** True when the wait came from server pushback. */
  readonly pushback: boolean;
}

/** Everything the retry operator needs to know about one call. */
export interface RetryConfig {
  readonly policy: ResolvedRetryPolicy;
  /** The client's budget; undefined when throttling is off. */
  readonly budget: RetryBudget | undefined;
  /** Overall deadline of the call, epoch ms. */
  readonly deadline: number;
  /** An attempt that hit its own timeout may be retried (safe to repeat). */
  readonly idempotent: boolean;
  /** True once the call may no longer be retried (a response message arrived, requests not replayable). */
  readonly committed: () => boolean;
  readonly now: () => number;
  readonly random: () => number;
  readonly scheduler?: SchedulerLike;
  readonly onRetry?: (event: RetryEvent) => void;
}

/** What the retry config of one call must tell the decision. */
export type RetryDecisionInput = Omit<RetryConfig, 'scheduler' | 'onRetry'>;

/**
 * The retry decision of gRFC A6 as this library has it: undefined when `error` must not be retried,
 * else the wait before the next attempt (`backoffN` = retries since the last reset, plus one).
 * Shared by the `retryCall` operator and the call pipeline's fused attempt loop.
 */
export function retryDecision(error: unknown, c: RetryDecisionInput, backoffN: number): { delayMs: number; pushback: boolean } | undefined {
  if (!isMeshClientError(error) || error.category === 'circuit-open' || error.category === 'tls' || c.committed()) return undefined;
  const attemptTimedOut = error.code === status.DEADLINE_EXCEEDED && c.now() < c.deadline;
  if (!c.policy.retryableCodes.has(error.code) && !(attemptTimedOut && c.idempotent)) return undefined;
  if (c.budget && !c.budget.canRetry()) return undefined;
  const pushback = readPushback(error.trailers);
  if (pushback.kind === 'stop') return undefined;
  const delayMs = pushback.kind === 'wait' ? pushback.ms : backoffDelay(backoffN, c.policy, c.random);
  if (c.now() + delayMs >= c.deadline) return undefined;
  return { delayMs, pushback: pushback.kind === 'wait' };
}

/**
 * Retries failed attempts as gRFC A6 has it: only retryable codes (an attempt's own timeout only
 * when `idempotent`), never a circuit-open rejection, never after the call committed, at most
 * `maxAttempts` in all, waiting the server's pushback or a jittered exponential backoff (which
 * restarts from `initialBackoffMs` after a pushback), only while the budget allows and never past
 * the overall deadline: when the next wait cannot fit, the last error is delivered at once.
 * Identity when `maxAttempts` is 1.
 *
 * @example
 * attempt$.pipe(retryCall({ policy, budget, deadline, idempotent: false, committed: () => false, now: Date.now, random: Math.random }))
 */
export function retryCall<T>(c: RetryConfig): MonoTypeOperatorFunction<T> {
  if (c.policy.maxAttempts <= 1) return (source) => source;
  let backoffN = 0;
  return retry<T>({
    count: c.policy.maxAttempts - 1,
    delay: (error: unknown, retryCount: number) => {
      const next = retryDecision(error, c, backoffN + 1);
      if (!next) throw error;
      backoffN = next.pushback ? 0 : backoffN + 1;
      c.onRetry?.({ attempt: retryCount, error: error as MeshClientError, delayMs: next.delayMs, pushback: next.pushback });
      return timer(next.delayMs, c.scheduler);
    },
  });
}
