import { status } from '@grpc/grpc-js';
import type { TripRule } from './trip-rules.js';

/** The breaker's state, as a discriminated union. */
export type BreakerState =
  | { readonly name: 'closed' }
  | { readonly name: 'open'; readonly since: number; readonly until: number }
  | { readonly name: 'half-open'; readonly probes: number; readonly successes: number };

/** Public name of a state. */
export type BreakerStateName = BreakerState['name'];

/** A state change, for metrics and logs. */
export interface BreakerTransition {
  readonly from: BreakerStateName;
  readonly to: BreakerStateName;
}

/** How an attempt ended, as far as the breaker cares. */
export type BreakerOutcome = 'success' | 'failure' | 'ignored';

/** Status codes that mean the server side is in trouble: only these count as failures. */
export const SERVER_FAULT_CODES: ReadonlySet<number> = new Set([
  status.UNAVAILABLE,
  status.DEADLINE_EXCEEDED,
  status.INTERNAL,
  status.UNKNOWN,
  status.DATA_LOSS,
  status.RESOURCE_EXHAUSTED,
]);

/** The breaker outcome of a status code: server faults fail, CANCELLED is ignored, the rest succeed. */
export function outcomeOf(code: number): BreakerOutcome {
  if (SERVER_FAULT_CODES.has(code)) return 'failure';
  return code === status.CANCELLED ? 'ignored' : 'success';
}

/** Timing of the breaker. */
export interface BreakerTiming {
  readonly openMs: number;
  readonly halfOpenMaxCalls: number;
}

const CLOSED: BreakerState = Object.freeze({ name: 'closed' });

/**
 * A circuit breaker as a pure state machine: no timers, time comes from `now`. Closed counts
 * outcomes through its trip rules and opens when any rule trips; open rejects until `openMs` has
 * passed, then half-open admits `halfOpenMaxCalls` probes: one failed probe opens it again, that
 * many successful probes close it.
 */
export class CircuitBreaker {
  private current: BreakerState = CLOSED;
  private changes = 0;

  constructor(
    private readonly rules: readonly TripRule[],
    private readonly timing: BreakerTiming,
    private readonly now: () => number,
    private readonly onStateChange?: (change: BreakerTransition) => void,
  ) {}

  /** The state now (an open breaker whose time is up reads as half-open). */
  get state(): BreakerStateName {
    if (this.current.name === 'open' && this.now() >= this.current.until) return 'half-open';
    return this.current.name;
  }

  /**
   * Which state this is, as a number that changes at every move: what an attempt was admitted
   * under. Read it right after `tryAcquire()` and give it back with the outcome.
   */
  get epoch(): number {
    return this.changes;
  }

  /** True when `tryAcquire()` would refuse now (open, or half-open with every probe out); changes nothing. */
  rejects(): boolean {
    const s = this.current;
    if (s.name === 'closed') return false;
    if (s.name === 'open') return this.now() < s.until;
    return s.probes >= this.timing.halfOpenMaxCalls;
  }

  /** Asks to let one attempt through. False means reject it without touching the network. */
  tryAcquire(): boolean {
    const s = this.current;
    if (s.name === 'closed') return true;
    if (s.name === 'open') {
      if (this.now() < s.until) return false;
      this.move({ name: 'half-open', probes: 1, successes: 0 });
      return true;
    }
    if (s.probes >= this.timing.halfOpenMaxCalls) return false;
    this.current = { ...s, probes: s.probes + 1 };
    return true;
  }

  /**
   * A stream admitted as a probe of this half-open (`epoch`) answered: the probe succeeded now,
   * whatever the stream does later. False (nothing changed) for any other attempt.
   */
  answerProbe(epoch: number): boolean {
    if (this.current.name !== 'half-open' || epoch !== this.changes) return false;
    this.record('success', epoch);
    return true;
  }

  /**
   * Reports how an admitted attempt ended. With `epoch` (read when it was admitted), half-open
   * counts only its own probes: an attempt let through before the breaker opened answers none.
   */
  record(outcome: BreakerOutcome, epoch?: number): void {
    const s = this.current;
    const now = this.now();
    if (s.name === 'closed') {
      if (outcome === 'ignored') return;
      let trip = false;
      for (const rule of this.rules) {
        rule.record(outcome === 'failure', now);
        trip = rule.shouldTrip(now) || trip;
      }
      if (trip) this.open(now);
    } else if (s.name === 'half-open') {
      if (epoch !== undefined && epoch !== this.changes) return;
      if (outcome === 'failure') this.open(now);
      else if (outcome === 'ignored') this.current = { ...s, probes: Math.max(0, s.probes - 1) };
      else if (s.successes + 1 >= this.timing.halfOpenMaxCalls) this.close();
      else this.current = { ...s, successes: s.successes + 1 };
    }
  }

  private open(now: number): void {
    this.move({ name: 'open', since: now, until: now + this.timing.openMs });
  }

  private close(): void {
    for (const rule of this.rules) rule.reset();
    this.move(CLOSED);
  }

  private move(next: BreakerState): void {
    const from = this.current.name;
    this.current = next;
    this.changes++;
    if (from !== next.name) this.onStateChange?.({ from, to: next.name });
  }
}
