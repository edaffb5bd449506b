import { status } from '@grpc/grpc-js';
import { BREAKER_DEFAULTS, BUDGET_KEYS, HEDGING_DEFAULTS, RETRY_DEFAULTS, keysOf } from '../config/defaults.js';
import type { ResolvedBreakerPolicy, ResolvedHedgingPolicy } from '../config/policies.js';
import type { ResolvedRetryPolicy } from '../config/policies.js';
import { DEFAULT_RETRY_POLICY } from '../resilience/retry-policy.js';
import { MAX_TIMER_MS, type OptionChecks } from './option-checks.js';

const RETRY_KEYS = keysOf(RETRY_DEFAULTS);
const BREAKER_KEYS = keysOf(BREAKER_DEFAULTS);
const MS = { min: 0, max: MAX_TIMER_MS, exclusiveMin: true } as const;

/** A failure status code given by number or name: 1..16 (OK is no failure to retry or hedge past). */
function codeOf(check: OptionChecks, field: string, value: unknown): number {
  let code: number | undefined;
  if (typeof value === 'number' && typeof status[value] === 'string') code = value;
  else if (typeof value === 'string' && typeof (status as unknown as Record<string, unknown>)[value] === 'number') {
    code = (status as unknown as Record<string, number>)[value]!;
  }
  if (code === undefined) return check.fail(field, "must hold gRPC status codes (numbers 1..16 or names like 'UNAVAILABLE')", value);
  if (code === status.OK) return check.fail(field, 'must hold failure codes: OK (0) is a success, never retried', value);
  return code;
}

/**
 * Validates a retry policy, full or partial, over `base` (the level above: client over defaults,
 * method over client, call over method). `false` disables retries.
 */
export function resolveRetry(check: OptionChecks, raw: unknown, base: ResolvedRetryPolicy | false): ResolvedRetryPolicy | false {
  if (raw === undefined) return base;
  if (raw === false) return false;
  const r = check.object('retry', raw);
  const at = check.at('retry');
  at.knownKeys(r, RETRY_KEYS);
  const b = base || DEFAULT_RETRY_POLICY;
  const codes = r.retryableCodes;
  if (codes !== undefined && !Array.isArray(codes)) at.fail('retryableCodes', 'must be an array of status codes', codes);
  let budget = b.budget;
  if (r.budget === false) budget = false;
  else if (r.budget !== undefined) {
    const raw = at.object('budget', r.budget);
    const bt = at.at('budget');
    bt.knownKeys(raw, BUDGET_KEYS);
    const prev = b.budget || RETRY_DEFAULTS.budget;
    budget = Object.freeze({
      maxTokens: bt.number('maxTokens', raw.maxTokens, prev.maxTokens, { min: 0, max: 1000, exclusiveMin: true }),
      tokenRatio: bt.number('tokenRatio', raw.tokenRatio, prev.tokenRatio, { min: 0, max: 1000, exclusiveMin: true }),
    });
  }
  const resolved: ResolvedRetryPolicy = Object.freeze({
    maxAttempts: at.number('maxAttempts', r.maxAttempts, b.maxAttempts, { min: 1, max: 5, integer: true }),
    initialBackoffMs: at.number('initialBackoffMs', r.initialBackoffMs, b.initialBackoffMs, MS),
    maxBackoffMs: at.number('maxBackoffMs', r.maxBackoffMs, b.maxBackoffMs, MS),
    backoffMultiplier: at.number('backoffMultiplier', r.backoffMultiplier, b.backoffMultiplier, { min: 1, max: 100 }),
    jitter: at.number('jitter', r.jitter, b.jitter, { min: 0, max: 1 }),
    retryableCodes:
      codes === undefined ? b.retryableCodes : new Set((codes as unknown[]).map((c, i) => codeOf(at, `retryableCodes[${String(i)}]`, c))),
    budget,
    perAttemptTimeoutMs: r.perAttemptTimeoutMs === undefined ? b.perAttemptTimeoutMs : at.number('perAttemptTimeoutMs', r.perAttemptTimeoutMs, 0, MS),
  });
  if (resolved.maxBackoffMs < resolved.initialBackoffMs) {
    at.fail('maxBackoffMs', `must be >= initialBackoffMs (${String(resolved.initialBackoffMs)})`, resolved.maxBackoffMs);
  }
  return resolved;
}

/**
 * Validates a breaker policy, full or partial, over `base` (the defaults, or in `update()` the
 * client's current policy); `false` disables the breaker.
 */
export function resolveBreaker(check: OptionChecks, raw: unknown, base: ResolvedBreakerPolicy = BREAKER_DEFAULTS): ResolvedBreakerPolicy | false {
  if (raw === false) return false;
  if (raw === undefined) return base;
  const r = check.object('breaker', raw);
  const at = check.at('breaker');
  at.knownKeys(r, BREAKER_KEYS);
  const d = base;
  return Object.freeze({
    failureRateThreshold: at.number('failureRateThreshold', r.failureRateThreshold, d.failureRateThreshold, { min: 0, max: 1 }),
    minimumCalls: at.number('minimumCalls', r.minimumCalls, d.minimumCalls, { min: 1, max: 1_000_000, integer: true }),
    windowMs: at.number('windowMs', r.windowMs, d.windowMs, { min: 10, max: MAX_TIMER_MS, integer: true }),
    openMs: at.number('openMs', r.openMs, d.openMs, MS),
    halfOpenMaxCalls: at.number('halfOpenMaxCalls', r.halfOpenMaxCalls, d.halfOpenMaxCalls, { min: 1, max: 1000, integer: true }),
    scope: at.oneOf('scope', r.scope, ['client', 'method'] as const, d.scope),
    consecutiveFailures:
      r.consecutiveFailures === undefined
        ? d.consecutiveFailures
        : at.number('consecutiveFailures', r.consecutiveFailures, 0, { min: 1, max: 1_000_000, integer: true }),
  });
}

/**
 * Validates `methods[rpc].hedging` (gRFC A6): unary, idempotent methods only, and instead of
 * retry, never beside it.
 */
export function resolveHedging(
  check: OptionChecks,
  policy: Record<string, unknown>,
  idempotent: boolean,
  streams: boolean,
): ResolvedHedgingPolicy | undefined {
  if (policy.hedging === undefined) return undefined;
  const h = check.object('hedging', policy.hedging);
  const at = check.at('hedging');
  at.knownKeys(h, keysOf(HEDGING_DEFAULTS));
  if (streams) check.fail('hedging', 'is for unary methods only (a stream cannot be sent twice)', h);
  if (!idempotent) check.fail('hedging', 'sends copies of a call: mark the method idempotent: true', h);
  if (policy.retry !== undefined) check.fail('retry', 'cannot be given with hedging (a method has retry or hedging, not both)', policy.retry);
  if (h.maxAttempts === undefined || h.delayMs === undefined)
    at.fail(h.maxAttempts === undefined ? 'maxAttempts' : 'delayMs', 'is required', undefined);
  const codes = h.nonFatalCodes ?? HEDGING_DEFAULTS.nonFatalCodes;
  if (!Array.isArray(codes)) at.fail('nonFatalCodes', 'must be an array of status codes', codes);
  return Object.freeze({
    maxAttempts: at.number('maxAttempts', h.maxAttempts, 0, { min: 2, max: 5, integer: true }),
    delayMs: at.number('delayMs', h.delayMs, 0, { min: 0, max: MAX_TIMER_MS }),
    nonFatalCodes: new Set((codes as unknown[]).map((c, i) => codeOf(at, `nonFatalCodes[${String(i)}]`, c))),
  });
}
