import type { Counter, Gauge } from 'prom-client';
import type { HistogramCounts, HistogramSource } from './buffered-histogram.js';

/** Local counts of one method of one client, flushed into prom-client when scraped. */
export class SeriesCounts {
  started = 0;
  sent = 0;
  received = 0;
  rejected = 0;
  hedged = 0;
  /** Calls of the series in flight now (a gauge: never reset). */
  inflight = 0;
  readonly handled = new Map<string, number>();
  readonly retried = new Map<string, number>();

  constructor(
    /** Labels of the per-call series. */
    readonly labels: Readonly<Record<string, string>>,
    /** Labels of the mesh_client_* per-method series. */
    readonly short: Readonly<Record<string, string>>,
  ) {}
}

type Numeric = 'started' | 'sent' | 'received' | 'rejected' | 'hedged';
type Keyed = 'handled' | 'retried';

/**
 * Where the hot path counts: plain numbers. prom-client's label lookup (a string hash per update)
 * is paid once per series at scrape time instead of several times per call: each series' `collect`
 * hook moves the counts in.
 */
export class MeshMetricsBuffer implements HistogramSource {
  private readonly series: SeriesCounts[] = [];
  /** The latency counts of every series. */
  readonly histograms: HistogramCounts[] = [];
  /** Clients whose calls in flight have a sample from start (their series add theirs). */
  readonly inflight = new Set<string>();
  /** Whether each client's retry budget stops retries now (read at scrape time). */
  readonly budgets = new Map<string, () => boolean>();
  /** Calls refused by a concurrency limit, per client and reason. */
  readonly limited = new Map<string, { client: string; reason: string; n: number }>();

  add(series: SeriesCounts): SeriesCounts {
    this.series.push(series);
    return series;
  }

  /** Every series counted here. */
  get seriesList(): readonly SeriesCounts[] {
    return this.series;
  }

  /** Moves `field` counts into `counter`. */
  flush(counter: Counter, field: Numeric): void {
    for (const s of this.series) {
      const n = s[field];
      if (n === 0) continue;
      s[field] = 0;
      counter.inc(field === 'rejected' || field === 'hedged' ? s.short : s.labels, n);
    }
  }

  /** Moves the counts of calls refused by a concurrency limit into `counter`. */
  flushLimited(counter: Counter): void {
    for (const entry of this.limited.values()) {
      if (entry.n === 0) continue;
      counter.inc({ mesh_client: entry.client, reason: entry.reason }, entry.n);
      entry.n = 0;
    }
  }

  /** Moves per-code counts into `counter` (label grpc_code). */
  flushByCode(counter: Counter, field: Keyed): void {
    for (const s of this.series) {
      const map = s[field];
      if (map.size === 0) continue;
      for (const [code, n] of map) if (n > 0) counter.inc({ ...(field === 'handled' ? s.labels : s.short), grpc_code: code }, n);
      map.clear();
    }
  }
}

/**
 * The buffers of every application counting into one metric. prom-client's registry is
 * process-wide, so two Nest applications in one process (and two copies of this library) share
 * each metric object; its `collect` hook flushes them all. The set lives on the metric itself, under
 * a key every copy of the library finds, so a copy's hook flushes the other copies' buffers too.
 */
const SINKS = Symbol.for('@datapunk/mesh-client.metric-buffers');

function sinksOf(metric: object, create: boolean): Set<MeshMetricsBuffer> | undefined {
  const holder = metric as { [SINKS]?: Set<MeshMetricsBuffer> };
  if (!holder[SINKS] && create) Object.defineProperty(holder, SINKS, { value: new Set<MeshMetricsBuffer>() });
  return holder[SINKS];
}

/** Counts of `buffer` go into `metric` from now on. */
export function attachBuffer(metric: object, buffer: MeshMetricsBuffer): void {
  sinksOf(metric, true)!.add(buffer);
}

/** `buffer`'s application is gone. */
export function detachBuffer(metric: object, buffer: MeshMetricsBuffer): void {
  sinksOf(metric, false)?.delete(buffer);
}

/** The buffers counting into `metric`. */
export function buffersOf(metric: object): Iterable<MeshMetricsBuffer> {
  return sinksOf(metric, false) ?? [];
}

/** Sets the in-flight gauge per client: the sum over every application's buffer and series. */
export function flushInflight(gauge: Gauge): void {
  const totals = new Map<string, number>();
  for (const buffer of buffersOf(gauge)) {
    for (const client of buffer.inflight) totals.set(client, totals.get(client) ?? 0);
    for (const s of buffer.seriesList) totals.set(s.short.mesh_client!, (totals.get(s.short.mesh_client!) ?? 0) + s.inflight);
  }
  gauge.reset();
  for (const [client, n] of totals) gauge.set({ mesh_client: client }, n);
}

/** Sets the retry-budget gauge per client: 1 while its budget stops retries. */
export function flushBudgets(gauge: Gauge): void {
  gauge.reset();
  for (const buffer of buffersOf(gauge)) for (const [client, exhausted] of buffer.budgets) gauge.set({ mesh_client: client }, exhausted() ? 1 : 0);
}
