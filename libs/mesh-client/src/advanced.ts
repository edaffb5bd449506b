/**
 * @datapunk/mesh-client/advanced: the parts the client is built from, for composing pipelines of
 * your own (docs/reference/api.md, generated from these exports by scripts/docs.mjs; each `// Title`
 * comment starts a group there). The same code the client's calls run; a narrower promise of
 * stability than the main entry.
 */
// Engines
export {
  GatedAttempt,
  openGate,
  type AttemptAnswer,
  type GateSettings,
  type AttemptHooks,
  type AttemptOutcome,
  type AttemptRunner,
  type AttemptSink,
  type GateOwner,
  type RunningAttempt,
} from './resilience/attempt-gate.js';
export { AttemptLoop, retryGate, type CallSink, type LoopCall, type LoopSettings, type RetryLoopSettings } from './resilience/attempt-loop.js';
export { observableRunner, observerSink } from './resilience/observable-runner.js';
export { HedgingLoop, type HedgingLoopSettings } from './resilience/hedging-loop.js';
// Operators
export { retryCall, type RetryConfig } from './resilience/retry.operator.js';
// Retry
export { retryDecision, type RetryDecisionInput, type RetryEvent } from './resilience/retry-decision.js';
// Operators
export { circuitBreaker } from './resilience/circuit-breaker.operator.js';
// Breaker
export {
  CircuitBreaker,
  SERVER_FAULT_CODES,
  outcomeOf,
  type BreakerOutcome,
  type BreakerState,
  type BreakerStateName,
  type BreakerTransition,
} from './resilience/circuit-breaker.js';
export { BreakerSet } from './resilience/breaker-set.js';
export { ConsecutiveFailuresRule, FailureRateRule, type TripRule } from './resilience/trip-rules.js';
// Retry
export { RetryBudget } from './resilience/retry-budget.js';
export { backoffDelay } from './resilience/backoff.js';
export { readPushback, PUSHBACK_TRAILER, type Pushback } from './resilience/pushback.js';
export { DEFAULT_RETRY_POLICY } from './resilience/retry-policy.js';
// Concurrency
export { ConcurrencyLimiter, type LimitedReason, type Permit, type PermitWaiter, type QueueTicket } from './resilience/concurrency-limiter.js';
export { AdaptiveLimit } from './resilience/adaptive-limit.js';
// Policies and defaults
export type {
  AdaptiveLimitPolicy,
  BackoffPolicy,
  ResolvedBreakerPolicy,
  ResolvedConcurrencyPolicy,
  ResolvedHedgingPolicy,
  ResolvedRetryPolicy,
  RetryBudgetPolicy,
} from './config/policies.js';
export {
  ADAPTIVE_DEFAULTS,
  BREAKER_DEFAULTS,
  CLIENT_DEFAULTS,
  CONCURRENCY_DEFAULTS,
  HEDGING_DEFAULTS,
  KEEPALIVE_DEFAULTS,
  MAX_TIMER_MS,
  OUTLIER_DEFAULTS,
  RETRY_DEFAULTS,
} from './config/defaults.js';
// Status codes
export { classifyStatus, STATUS_TABLE, type StatusClass } from './errors/error-category.js';
// Metric names
export { METRIC } from './observability/metric-names.js';
// TLS
export { expectServerIdentity } from './security/server-ids.js';
