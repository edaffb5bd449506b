import type { BackoffPolicy } from '../config/policies.js';

/**
 * Wait before the n-th retry since the last reset (n = 1 for the first), as gRFC A6 has it since
 * 2024: `min(initial * multiplier^(n-1), max) * random(1 - jitter, 1 + jitter)`, rounded to whole
 * milliseconds (timers have no finer grain).
 *
 * @param random a source of [0, 1) values; injectable for deterministic tests.
 */
export function backoffDelay(n: number, policy: BackoffPolicy, random: () => number): number {
  const base = Math.min(policy.initialBackoffMs * policy.backoffMultiplier ** (n - 1), policy.maxBackoffMs);
  return Math.round(base * (1 - policy.jitter + 2 * policy.jitter * random()));
}
