import { ADAPTIVE_DEFAULTS, CONCURRENCY_DEFAULTS, keysOf } from '../config/defaults.js';
import type { AdaptiveLimitPolicy, ResolvedConcurrencyPolicy } from '../config/policies.js';
import { MAX_TIMER_MS, type OptionChecks } from './option-checks.js';

const COUNT = { min: 1, max: 100_000, integer: true } as const;

function resolveAdaptive(check: OptionChecks, raw: unknown): AdaptiveLimitPolicy {
  if (raw === 'adaptive') return ADAPTIVE_DEFAULTS;
  const wrapper = check.object('limit', raw);
  check.at('limit').knownKeys(wrapper, ['adaptive']);
  const a = check.at('limit').object('adaptive', wrapper.adaptive ?? {});
  const at = check.at('limit.adaptive');
  at.knownKeys(a, keysOf(ADAPTIVE_DEFAULTS));
  const d = ADAPTIVE_DEFAULTS;
  const policy = {
    initial: at.number('initial', a.initial, d.initial, COUNT),
    min: at.number('min', a.min, d.min, COUNT),
    max: at.number('max', a.max, d.max, COUNT),
  };
  if (policy.min > policy.max) at.fail('min', `must be <= max (${String(policy.max)})`, policy.min);
  if (policy.initial < policy.min || policy.initial > policy.max)
    at.fail('initial', `must be within min..max (${String(policy.min)}..${String(policy.max)})`, policy.initial);
  return Object.freeze(policy);
}

/** Validates `concurrency`; undefined (the default) means no limit. */
export function resolveConcurrency(check: OptionChecks, raw: unknown): ResolvedConcurrencyPolicy | undefined {
  if (raw === undefined) return undefined;
  const c = check.object('concurrency', raw);
  const at = check.at('concurrency');
  at.knownKeys(c, keysOf(CONCURRENCY_DEFAULTS));
  if (c.limit === undefined) at.fail('limit', "is required: a number of calls, 'adaptive' or { adaptive: { initial, min, max } }", undefined);
  const limit = typeof c.limit === 'number' ? at.number('limit', c.limit, 0, COUNT) : resolveAdaptive(at, c.limit);
  return Object.freeze({
    limit,
    maxQueue: at.number('maxQueue', c.maxQueue, CONCURRENCY_DEFAULTS.maxQueue, { min: 0, max: 1_000_000, integer: true }),
    queueTimeoutMs: c.queueTimeoutMs === undefined ? undefined : at.number('queueTimeoutMs', c.queueTimeoutMs, 0, { min: 0, max: MAX_TIMER_MS }),
  });
}
