import { status } from '@grpc/grpc-js';
import type { BackoffPolicy } from './backoff.js';
import type { RetryBudgetPolicy } from './retry-budget.js';

/** A retry policy after defaults and validation. */
export interface ResolvedRetryPolicy extends BackoffPolicy {
  /** Attempts including the first, 1..5. */
  readonly maxAttempts: number;
  /** Status codes retried automatically. */
  readonly retryableCodes: ReadonlySet<number>;
  readonly budget: RetryBudgetPolicy | false;
  /** Deadline of each attempt, on top of the call's overall deadline. */
  readonly perAttemptTimeoutMs: number | undefined;
}

/** Documented defaults (gRFC A6, AIP-194). */
export const RETRY_DEFAULTS = Object.freeze({
  maxAttempts: 3,
  initialBackoffMs: 100,
  maxBackoffMs: 5_000,
  backoffMultiplier: 2,
  jitter: 0.2,
  retryableCodes: ['UNAVAILABLE'] as const,
  budget: Object.freeze({ maxTokens: 10, tokenRatio: 0.1 }),
});

/** The default policy, resolved. */
export const DEFAULT_RETRY_POLICY: ResolvedRetryPolicy = Object.freeze({
  ...RETRY_DEFAULTS,
  retryableCodes: new Set<number>([status.UNAVAILABLE]),
  perAttemptTimeoutMs: undefined,
});
