import { Inject, Injectable } from '@nestjs/common';
import { getToken } from '@willsoto/nestjs-prometheus';
import type { Gauge, Histogram } from 'prom-client';
import type { CallSite } from '../errors/to-mesh-error.js';
import { MeshMetricsBuffer, SeriesCounts } from './metrics-buffer.js';
import { CIRCUIT_STATE_VALUE, GRPC_TYPE, METRIC } from './metric-names.js';

/** What identifies a method for metrics and tracing. */
export interface ObservedMethod {
  readonly kind: keyof typeof GRPC_TYPE;
  readonly site: CallSite;
}

/** The series of one method of one client. */
export interface MethodSeries {
  readonly counts: SeriesCounts;
  readonly handling: { observe(seconds: number): void };
  readonly client: string;
}

/**
 * The library's Prometheus metrics. Label values come only from closed sets: client names, proto
 * service and method names, status code names. Counts go to a MeshMetricsBuffer (plain numbers,
 * moved into prom-client at scrape time); the latency histogram is observed directly.
 */
@Injectable()
export class MeshMetrics {
  private readonly series = new WeakMap<ObservedMethod, MethodSeries>();

  constructor(
    private readonly buffer: MeshMetricsBuffer,
    @Inject(getToken(METRIC.handling)) private readonly handling: Histogram,
    @Inject(getToken(METRIC.circuitState)) private readonly circuitState: Gauge,
  ) {}

  /** The series of `method`. */
  of(method: ObservedMethod): MethodSeries {
    let s = this.series.get(method);
    if (!s) {
      const { client, service, method: name } = method.site;
      const labels = { grpc_type: GRPC_TYPE[method.kind], grpc_service: service, grpc_method: name, mesh_client: client };
      const counts = this.buffer.add(new SeriesCounts(labels, { grpc_service: service, grpc_method: name, mesh_client: client }));
      s = { counts, handling: this.handling.labels(labels), client };
      this.series.set(method, s);
    }
    return s;
  }

  /** Calls in flight of `client` change by `delta`. */
  inflight(client: string, delta: number): void {
    this.buffer.inflight.set(client, (this.buffer.inflight.get(client) ?? 0) + delta);
  }

  /** Records a breaker state (scope '*' for a client-wide breaker, else the RPC name). */
  circuit(client: string, scope: string, state: keyof typeof CIRCUIT_STATE_VALUE): void {
    this.circuitState.labels({ mesh_client: client, scope }).set(CIRCUIT_STATE_VALUE[state]);
  }
}
