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
  private retired = false;

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
      breaker = new CircuitBreaker(rules, p, this.now, notify && ((t) => this.retired || notify({ ...t, scope: key })));
      this.breakers.set(key, breaker);
    }
    return breaker;
  }

  /** An update replaced this set: its breakers' changes are no longer told (calls in flight still record on them). */
  retire(): void {
    this.retired = true;
  }

  /** Every breaker made so far, by scope, with its state. */
  states(): [scope: string, state: BreakerStateName][] {
    return [...this.breakers].map(([scope, breaker]) => [scope, breaker.state]);
  }

  /**
   * State of the breaker of `method`, or without one the client's: with scope 'method' the worst
   * of every method's (open, then half-open, then closed).
   */
  state(method?: string): BreakerStateName {
    if (method !== undefined || this.policy.scope !== 'method') return this.breakers.get(this.keyOf(method ?? '*'))?.state ?? 'closed';
    let worst: BreakerStateName = 'closed';
    for (const breaker of this.breakers.values()) {
      const state = breaker.state;
      if (state === 'open') return state;
      if (state === 'half-open') worst = state;
    }
    return worst;
  }

  /** One breaker per method with scope 'method', one for the client ('*') otherwise. */
  private keyOf(method: string): string {
    return this.policy.scope === 'method' ? method : '*';
  }
}
