import { register, type Metric } from 'prom-client';
import { foreignMetricError } from './own-metric.js';

/** The latency counts of one series: cumulative, as a Prometheus histogram's are (never reset at a scrape). */
export class HistogramCounts {
  /** Observations per bucket (not cumulative: the last one is +Inf). */
  readonly buckets: Float64Array;
  sum = 0;
  count = 0;
  /** Identifies the series across applications (they may count the same labels). */
  readonly key: string;

  /** `bounds`: the buckets' upper bounds, ascending (+Inf implied). */
  constructor(
    readonly labels: Readonly<Record<string, string>>,
    readonly bounds: readonly number[],
  ) {
    this.key = JSON.stringify(labels);
    this.buckets = new Float64Array(bounds.length + 1);
  }

  /** One observation: an array increment, no label lookup (the series knows its labels). */
  observe(seconds: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]!) i++;
    this.buckets[i]!++;
    this.sum += seconds;
    this.count++;
  }

  clear(): void {
    this.buckets.fill(0);
    this.sum = 0;
    this.count = 0;
  }
}

/** What a histogram reads from: the series of one application. */
export interface HistogramSource {
  readonly histograms: readonly HistogramCounts[];
}

interface Value {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

/** Marks a BufferedHistogram, across copies of the library. */
const BUFFERED = Symbol.for('@datapunk/mesh-client.BufferedHistogram');

/**
 * `grpc_client_handling_seconds` as a Prometheus histogram whose observations cost an array
 * increment: each series counts into its own HistogramCounts, and the registry reads them all when
 * scraped (prom-client's own Histogram hashes the labels of every observation, most of the cost of
 * recording a call's latency). Registered on prom-client's default registry, as the library's
 * other series are (own-metric.ts); shared by every application of the process that counts into it.
 */
export class BufferedHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly sources = new Set<HistogramSource>();
  /** The counts of applications that closed, by series. */
  private readonly retired = new Map<string, HistogramCounts>();
  readonly [BUFFERED] = true;

  constructor(
    readonly name: string,
    readonly help: string,
    /** The labels of its series, as prom-client's Histogram names them. */
    readonly labelNames: readonly string[],
    /** The buckets' upper bounds its series count into, as prom-client's Histogram names them. */
    readonly upperBounds: readonly number[],
  ) {}

  /** The histogram named `name` on the default registry, registered now if there is none (one registered by anyone else fails start). */
  static named(name: string, help: string, labelNames: readonly string[], upperBounds: readonly number[]): BufferedHistogram {
    const existing = register.getSingleMetric(name) as Partial<BufferedHistogram> | undefined;
    // also one registered by another copy of this library in the process (a brand, not instanceof)
    if (existing?.[BUFFERED] === true) return existing as BufferedHistogram;
    if (existing) throw foreignMetricError(name, false);
    const histogram = new BufferedHistogram(name, help, labelNames, upperBounds);
    register.registerMetric(histogram as unknown as Metric);
    return histogram;
  }

  /** A series of this histogram, counted by its application (`attach` it). */
  series(labels: Readonly<Record<string, string>>): HistogramCounts {
    return new HistogramCounts(labels, this.upperBounds);
  }

  attach(source: HistogramSource): void {
    this.sources.add(source);
  }

  /**
   * `source`'s application closed: its counts stay in the series (kept here), as a counter's do,
   * so a series another application still counts into never goes down (a counter reset to Prometheus).
   */
  detach(source: HistogramSource): void {
    if (!this.sources.delete(source)) return;
    for (const h of source.histograms) if (h.count > 0) addInto(this.retired, h);
  }

  reset(): void {
    for (const source of this.sources) for (const h of source.histograms) h.clear();
    this.retired.clear();
  }

  get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    return this.getForPromString();
  }

  async getForPromString(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Value[] }> {
    const values: Value[] = [];
    for (const h of this.merged()) {
      let cumulative = 0;
      for (let i = 0; i <= h.bounds.length; i++) {
        cumulative += h.buckets[i]!;
        const le = i < h.bounds.length ? h.bounds[i]! : '+Inf';
        values.push({ labels: { le, ...h.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      }
      values.push({ labels: { ...h.labels }, value: h.sum, metricName: `${this.name}_sum` });
      values.push({ labels: { ...h.labels }, value: h.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** The series of every application (and of those closed), those with the same labels summed; empty ones left out. */
  private merged(): Iterable<HistogramCounts> {
    const byKey = new Map<string, HistogramCounts>();
    for (const h of this.retired.values()) addInto(byKey, h);
    for (const source of this.sources) for (const h of source.histograms) if (h.count > 0) addInto(byKey, h);
    return byKey.values();
  }
}

/** Adds `h`'s counts into the series of its labels in `byKey`. */
function addInto(byKey: Map<string, HistogramCounts>, h: HistogramCounts): void {
  let total = byKey.get(h.key);
  if (!total) byKey.set(h.key, (total = new HistogramCounts(h.labels, h.bounds)));
  for (let i = 0; i < h.buckets.length; i++) total.buckets[i]! += h.buckets[i]!;
  total.sum += h.sum;
  total.count += h.count;
}
