import { status } from '@grpc/grpc-js';
import { RETRY_DEFAULTS } from '../config/defaults.js';
import type { ResolvedRetryPolicy } from '../config/policies.js';

/** The default retry policy, resolved (RETRY_DEFAULTS with its codes as numbers). */
export const DEFAULT_RETRY_POLICY: ResolvedRetryPolicy = Object.freeze({
  ...RETRY_DEFAULTS,
  retryableCodes: new Set<number>(RETRY_DEFAULTS.retryableCodes.map((name) => status[name])),
  perAttemptTimeoutMs: undefined,
});
