import type { Counter, Gauge } from 'prom-client';
import type { BufferedHistogram, HistogramCounts } from './buffered-histogram.js';
import type { CallSite } from '../errors/to-mesh-error.js';
import { SeriesCounts, attachBuffer, detachBuffer, type MeshMetricsBuffer } from './metrics-buffer.js';
import { CIRCUIT_STATE_VALUE, GRPC_TYPE } from './metric-names.js';

/** What identifies a method for metrics and tracing. */
export interface ObservedMethod {
  readonly kind: keyof typeof GRPC_TYPE;
  readonly site: CallSite;
}

/** The series of one method of one client. */
export interface MethodSeries {
  readonly counts: SeriesCounts;
  readonly handling: HistogramCounts;
  readonly client: string;
}

/** A buffered counter and how a buffer's counts move into it. */
export interface CounterSink {
  readonly counter: Counter;
  readonly flush: (counter: Counter, buffer: MeshMetricsBuffer) => void;
}

/**
 * The library's Prometheus metrics of one application. Label values come only from closed sets:
 * client names, proto service and method names, status code names. Counts go to the
 * application's MeshMetricsBuffer (plain numbers, moved into prom-client at scrape time); the
 * latency histogram is counted the same way (BufferedHistogram).
 */
export class MeshMetrics {
  private readonly series = new WeakMap<ObservedMethod, MethodSeries>();

  /** @internal built by MeshClientModule's providers. */
  constructor(
    private readonly buffer: MeshMetricsBuffer,
    private readonly handling: BufferedHistogram,
    private readonly gauges: { readonly circuitState: Gauge; readonly inflight: Gauge; readonly limit: Gauge; readonly budgetExhausted: Gauge },
    private readonly counters: readonly CounterSink[],
  ) {
    for (const { counter } of counters) attachBuffer(counter, buffer);
    attachBuffer(gauges.inflight, buffer);
    attachBuffer(gauges.budgetExhausted, buffer);
    handling.attach(buffer);
  }

  /**
   * A client started: each of its breakers (`breakerScopes`: '*' for a client-wide one, else the
   * RPC names) reads closed (0) and its calls in flight 0 from now, so a healthy client that
   * never changed state still has a sample (dashboards read "no data" otherwise). The
   * concurrency limit gauge gets its first sample when the limiter is built.
   */
  clientStarted(client: string, breakerScopes: readonly string[]): void {
    for (const scope of breakerScopes) this.circuit(client, scope, 'closed');
    this.buffer.inflight.add(client);
  }

  /** `exhausted` tells, when scraped, whether the retry budget of `client` stops retries now. */
  retryBudget(client: string, exhausted: () => boolean): void {
    this.buffer.budgets.set(client, exhausted);
  }

  /** The series of `method`. */
  of(method: ObservedMethod): MethodSeries {
    let s = this.series.get(method);
    if (!s) {
      const { client, service, method: name } = method.site;
      const labels = { grpc_type: GRPC_TYPE[method.kind], grpc_service: service, grpc_method: name, mesh_client: client };
      const counts = this.buffer.add(new SeriesCounts(labels, { grpc_service: service, grpc_method: name, mesh_client: client }));
      const handling = this.handling.series(labels);
      this.buffer.histograms.push(handling);
      s = { counts, handling, client };
      this.series.set(method, s);
    }
    return s;
  }

  /** Records a breaker state (scope '*' for a client-wide breaker, else the RPC name). */
  circuit(client: string, scope: string, state: keyof typeof CIRCUIT_STATE_VALUE): void {
    this.gauges.circuitState.labels({ mesh_client: client, scope }).set(CIRCUIT_STATE_VALUE[state]);
  }

  /** The concurrency limit of `client` is now `limit`. */
  concurrencyLimit(client: string, limit: number): void {
    this.gauges.limit.labels({ mesh_client: client }).set(limit);
  }

  /** A call of `client` got no permit. */
  limited(client: string, reason: string): void {
    const key = `${client}\u0000${reason}`;
    const entry = this.buffer.limited.get(key);
    if (entry) entry.n++;
    else this.buffer.limited.set(key, { client, reason, n: 1 });
  }

  /** The application closed (its clients first): its last counts go in, then it stops counting. */
  close(): void {
    for (const { counter, flush } of this.counters) {
      flush(counter, this.buffer);
      detachBuffer(counter, this.buffer);
    }
    detachBuffer(this.gauges.inflight, this.buffer);
    detachBuffer(this.gauges.budgetExhausted, this.buffer);
    this.handling.detach(this.buffer);
  }
}
