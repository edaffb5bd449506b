import { status } from '@grpc/grpc-js';
import { isMeshClientError, type MeshClientError } from '../errors/mesh-client.error.js';
import { backoffDelay } from './backoff.js';
import { MAX_TIMER_MS } from '../config/defaults.js';
import { readPushback } from './pushback.js';
import type { RetryBudget } from './retry-budget.js';
import type { ResolvedRetryPolicy } from '../config/policies.js';

/** What a retry is about to do (for logs, metrics and tracing). */
export interface RetryEvent {
  /** The attempt that failed (1-based). */
  readonly attempt: number;
  readonly error: MeshClientError;
  readonly delayMs: number;
  /** True when the wait came from server pushback. */
  readonly pushback: boolean;
}

/** What the retry decision needs to know about one call. */
export interface RetryDecisionInput {
  readonly policy: ResolvedRetryPolicy;
  /** The client's budget; undefined when throttling is off. */
  readonly budget: RetryBudget | undefined;
  /** Overall deadline of the call, epoch ms. */
  readonly deadline: number;
  /** An attempt that hit its own timeout may be retried (safe to repeat). */
  readonly idempotent: boolean;
  /** True once the call may no longer be retried (a response arrived, requests not replayable). */
  committed(): boolean;
  now(): number;
  random(): number;
}

/**
 * The retry decision of gRFC A6 as this library has it: undefined when `error` must not be retried,
 * else the wait before the next attempt (`backoffN` = retries since the last reset, plus one).
 * A wait that would end at or after the deadline, or past what a timer can hold, means no retry.
 */
export function retryDecision(error: unknown, c: RetryDecisionInput, backoffN: number): { delayMs: number; pushback: boolean } | undefined {
  if (!isMeshClientError(error) || error.category === 'circuit-open' || error.category === 'tls' || c.committed()) return undefined;
  const attemptTimedOut = error.code === status.DEADLINE_EXCEEDED && c.now() < c.deadline;
  if (!c.policy.retryableCodes.has(error.code) && !(attemptTimedOut && c.idempotent)) return undefined;
  if (c.budget && !c.budget.canRetry()) return undefined;
  const pushback = readPushback(error.trailers);
  if (pushback.kind === 'stop') return undefined;
  const delayMs = pushback.kind === 'wait' ? pushback.ms : backoffDelay(backoffN, c.policy, () => c.random());
  if (delayMs > MAX_TIMER_MS || c.now() + delayMs >= c.deadline) return undefined;
  return { delayMs, pushback: pushback.kind === 'wait' };
}
