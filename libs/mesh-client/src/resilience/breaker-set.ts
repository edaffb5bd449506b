import type { ResolvedBreakerPolicy } from '../config/policies.js';
import { CircuitBreaker, type BreakerStateName, type BreakerTransition } from './circuit-breaker.js';
import { ConsecutiveFailuresRule, FailureRateRule, type TripRule } from './trip-rules.js';

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
    const key = this.keyOf(method);
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

  /** Every breaker made so far, by scope, with its state. */
  states(): [scope: string, state: BreakerStateName][] {
    return [...this.breakers].map(([scope, breaker]) => [scope, breaker.state]);
  }

  /** State of the breaker of `method` (or the client's). */
  state(method = '*'): BreakerStateName {
    return this.breakers.get(this.keyOf(method))?.state ?? 'closed';
  }

  /** One breaker per method with scope 'method', one for the client ('*') otherwise. */
  private keyOf(method: string): string {
    return this.policy.scope === 'method' ? method : '*';
  }
}
