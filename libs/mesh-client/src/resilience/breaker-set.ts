import { CircuitBreaker, type BreakerStateName, type BreakerTransition } from './circuit-breaker.js';
import { ConsecutiveFailuresRule, FailureRateRule, type TripRule } from './trip-rules.js';

/** A breaker policy after defaults and validation. */
export interface ResolvedBreakerPolicy {
  readonly failureRateThreshold: number;
  readonly minimumCalls: number;
  readonly windowMs: number;
  readonly openMs: number;
  readonly halfOpenMaxCalls: number;
  readonly scope: 'client' | 'method';
  /** Second trip rule: open after this many counted failures in a row; undefined = off. */
  readonly consecutiveFailures: number | undefined;
}

/** Documented defaults. */
export const BREAKER_DEFAULTS: ResolvedBreakerPolicy = Object.freeze({
  failureRateThreshold: 0.5,
  minimumCalls: 20,
  windowMs: 10_000,
  openMs: 5_000,
  halfOpenMaxCalls: 1,
  scope: 'client',
  consecutiveFailures: undefined,
});

/** A breaker state change of one scope ('*' for a client-wide breaker, else the RPC name). */
export interface ScopedTransition extends BreakerTransition {
  readonly scope: string;
}

/** The breakers of one client: one shared, or one per method, created on first use. */
export class BreakerSet {
  private readonly breakers = new Map<string, CircuitBreaker>();

  constructor(
    readonly policy: ResolvedBreakerPolicy,
    private readonly now: () => number,
    private readonly onStateChange?: (change: ScopedTransition) => void,
  ) {}

  /** The breaker that guards `method`. */
  for(method: string): CircuitBreaker {
    const key = this.policy.scope === 'method' ? method : '*';
    let breaker = this.breakers.get(key);
    if (!breaker) {
      const p = this.policy;
      const rules: TripRule[] = [new FailureRateRule(p.failureRateThreshold, p.minimumCalls, p.windowMs)];
      if (p.consecutiveFailures !== undefined) rules.push(new ConsecutiveFailuresRule(p.consecutiveFailures));
      const notify = this.onStateChange;
      breaker = new CircuitBreaker(rules, p, this.now, notify && ((t) => notify({ ...t, scope: key })));
      this.breakers.set(key, breaker);
    }
    return breaker;
  }

  /** State of the breaker of `method` (or the client's). */
  state(method = '*'): BreakerStateName {
    const key = this.policy.scope === 'method' ? method : '*';
    return this.breakers.get(key)?.state ?? 'closed';
  }
}
