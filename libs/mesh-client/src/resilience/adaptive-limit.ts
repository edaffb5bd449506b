import type { AdaptiveLimitPolicy } from '../config/policies.js';

/** Tuning of the gradient controller (Envoy's adaptive concurrency defaults). */
const UPDATE_INTERVAL_MS = 100;
const FLOOR_INTERVAL_MS = 60_000;
const FLOOR_JITTER = 0.1;
const FLOOR_SAMPLES = 50;
/** Latency above the floor the limit tolerates (Envoy's `buffer`, 25%). */
const BUFFER = 0.25;
/** Share of a new estimate taken per update (Gradient2's smoothing): damps the oscillation of the raw controller. */
const SMOOTHING = 0.2;

const p50 = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};

/**
 * An adaptive concurrency limit after Envoy's adaptive concurrency filter (gradient controller).
 * It measures the latency floor (minRTT: the median of 50 calls made with only `min` in flight),
 * then every 100 ms moves the limit towards `limit * gradient + sqrt(limit * gradient)` (headroom),
 * `gradient = minRTT * 1.25 / sampleRTT` (sampleRTT: the median latency of that interval, gradient
 * clamped to 0.5..2), taking a fifth of the step each time as Gradient2 smooths (the raw controller
 * swings between two limits around the knee), and measures the floor again every minute (10%
 * jitter). Re-measuring the floor is why this
 * and not Netflix's Gradient2: Gradient2 compares against a long-term average of latency, which
 * under sustained load drifts up with it ("latency creep"). No timers: it moves when samples come.
 */
export class AdaptiveLimit {
  private current: number;
  private floorMs: number | undefined;
  private measuringSince: number | undefined;
  private readonly floorSamples: number[] = [];
  private readonly samples: number[] = [];
  private lastUpdate: number;
  private nextFloorAt = 0;
  /** The limit to come back to after a re-measure (the initial one at first). */
  private resume: number;

  constructor(
    private readonly policy: AdaptiveLimitPolicy,
    private readonly now: () => number,
    private readonly random: () => number,
    private readonly onChange?: (limit: number) => void,
  ) {
    this.current = policy.min;
    this.resume = policy.initial;
    this.lastUpdate = now();
    this.startMeasuring();
  }

  /** The limit now. */
  get limit(): number {
    return Math.floor(this.current);
  }

  /** True while the latency floor is being measured (only samples of calls started now count for it). */
  get measuring(): boolean {
    return this.measuringSince !== undefined;
  }

  /** A call granted at `startedAt` succeeded after `rttMs`. */
  sample(rttMs: number, startedAt: number): void {
    const now = this.now();
    if (this.measuringSince !== undefined) {
      if (startedAt >= this.measuringSince) this.floorSamples.push(rttMs);
      if (this.floorSamples.length >= FLOOR_SAMPLES) this.finishMeasuring(now);
      return;
    }
    this.samples.push(rttMs);
    if (now - this.lastUpdate >= UPDATE_INTERVAL_MS) this.update(now);
  }

  private update(now: number): void {
    this.lastUpdate = now;
    if (now >= this.nextFloorAt) return this.startMeasuring();
    if (this.samples.length === 0 || this.floorMs === undefined) return;
    const sampleMs = p50(this.samples);
    this.samples.length = 0;
    const gradient = Math.min(2, Math.max(0.5, (this.floorMs * (1 + BUFFER)) / Math.max(sampleMs, 0.001)));
    const estimate = this.current * gradient + Math.sqrt(this.current * gradient);
    const next = this.current * (1 - SMOOTHING) + estimate * SMOOTHING;
    this.set(Math.min(this.policy.max, Math.max(this.policy.min, next)));
  }

  private startMeasuring(): void {
    if (this.floorMs !== undefined) this.resume = this.current;
    this.measuringSince = this.now();
    this.floorSamples.length = 0;
    this.samples.length = 0;
    this.set(this.policy.min);
  }

  private finishMeasuring(now: number): void {
    this.floorMs = p50(this.floorSamples);
    this.measuringSince = undefined;
    this.lastUpdate = now;
    this.nextFloorAt = now + FLOOR_INTERVAL_MS * (1 - FLOOR_JITTER + 2 * FLOOR_JITTER * this.random());
    this.set(Math.min(this.policy.max, Math.max(this.policy.min, this.resume)));
  }

  private set(limit: number): void {
    const before = this.limit;
    this.current = limit;
    if (this.limit !== before) this.onChange?.(this.limit);
  }
}
