import type { RetryBudgetPolicy } from '../config/policies.js';

/**
 * gRFC A6 retry throttling, one per client: a token bucket that starts full. Each failed attempt
 * with a retryable code takes one token, each successful call gives back `tokenRatio`; retries are
 * allowed only while more than half the tokens are left. Keeps a struggling backend from being
 * hit by a retry storm.
 */
export class RetryBudget {
  private tokens: number;

  constructor(readonly policy: RetryBudgetPolicy) {
    this.tokens = policy.maxTokens;
  }

  /** Tokens left now. */
  get available(): number {
    return this.tokens;
  }

  /** A failed attempt with a retryable code. */
  onFailure(): void {
    this.tokens = Math.max(0, this.tokens - 1);
  }

  /** A token taken for something that paid off after all (a hedged copy that answered first) comes back. */
  refund(): void {
    this.tokens = Math.min(this.policy.maxTokens, this.tokens + 1);
  }

  /** A successful call. */
  onSuccess(): void {
    this.tokens = Math.min(this.policy.maxTokens, this.tokens + this.policy.tokenRatio);
  }

  /** True while a retry is allowed. */
  canRetry(): boolean {
    return this.tokens > this.policy.maxTokens / 2;
  }
}
