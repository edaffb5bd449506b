/** Decides from recorded outcomes whether a closed circuit should open. Pluggable. */
export interface TripRule {
  /** Records one counted outcome at time `now`. */
  record(failure: boolean, now: number): void;
  /** True when the circuit should open. */
  shouldTrip(now: number): boolean;
  /** Forgets everything (on closing). */
  reset(): void;
}

const BUCKETS = 10;

/**
 * Failure rate over a sliding time window (`windowMs`, kept in 10 buckets), once at least
 * `minimumCalls` outcomes fall inside it, as Resilience4j's time-based sliding window.
 */
export class FailureRateRule implements TripRule {
  private readonly calls = new Array<number>(BUCKETS).fill(0);
  private readonly failures = new Array<number>(BUCKETS).fill(0);
  private readonly bucketMs: number;
  private head = 0;
  private headStart = 0;

  constructor(
    private readonly threshold: number,
    private readonly minimumCalls: number,
    windowMs: number,
  ) {
    this.bucketMs = windowMs / BUCKETS;
  }

  record(failure: boolean, now: number): void {
    this.advance(now);
    this.calls[this.head]!++;
    if (failure) this.failures[this.head]!++;
  }

  shouldTrip(now: number): boolean {
    this.advance(now);
    let calls = 0;
    let failures = 0;
    for (let i = 0; i < BUCKETS; i++) {
      calls += this.calls[i]!;
      failures += this.failures[i]!;
    }
    // (failures > 0: a threshold of 0 opens on any failure, never on a window of successes)
    return calls >= this.minimumCalls && failures > 0 && failures / calls >= this.threshold;
  }

  reset(): void {
    this.calls.fill(0);
    this.failures.fill(0);
  }

  /** Moves the head bucket to `now`, clearing buckets that fell out of the window. */
  private advance(now: number): void {
    const steps = Math.floor((now - this.headStart) / this.bucketMs);
    if (steps <= 0) return;
    for (let i = 0; i < Math.min(steps, BUCKETS); i++) {
      this.head = (this.head + 1) % BUCKETS;
      this.calls[this.head] = 0;
      this.failures[this.head] = 0;
    }
    this.headStart += steps * this.bucketMs;
  }
}

/** Opens after `threshold` counted failures in a row, as cockatiel's ConsecutiveBreaker. */
export class ConsecutiveFailuresRule implements TripRule {
  private streak = 0;

  constructor(private readonly threshold: number) {}

  record(failure: boolean): void {
    this.streak = failure ? this.streak + 1 : 0;
  }

  shouldTrip(): boolean {
    return this.streak >= this.threshold;
  }

  reset(): void {
    this.streak = 0;
  }
}
