import { Inject, Injectable } from '@nestjs/common';
import { getToken } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge, Histogram } from 'prom-client';
import type { CallSite } from '../errors/to-mesh-error.js';
import { CIRCUIT_STATE_VALUE, GRPC_TYPE, METRIC } from './metric-names.js';

/** What identifies a method for metrics and tracing. */
export interface ObservedMethod {
  readonly kind: keyof typeof GRPC_TYPE;
  readonly site: CallSite;
}

/** The series of one method of one client, label values bound once. */
export interface MethodSeries {
  readonly started: { inc(): void };
  readonly sent: { inc(): void };
  readonly received: { inc(): void };
  readonly handling: { observe(seconds: number): void };
  readonly inflight: { inc(): void; dec(): void };
  handled(codeName: string): { inc(): void };
  retried(codeName: string): { inc(): void };
  readonly rejected: { inc(): void };
}

/**
 * The library's Prometheus metrics. Label values come only from closed sets: client names, proto
 * service and method names, status code names. Children are bound once per method (prom-client's
 * label lookup is the costly part of recording).
 */
@Injectable()
export class MeshMetrics {
  private readonly series = new WeakMap<ObservedMethod, MethodSeries>();

  constructor(
    @Inject(getToken(METRIC.started)) private readonly started: Counter,
    @Inject(getToken(METRIC.handled)) private readonly handled: Counter,
    @Inject(getToken(METRIC.msgSent)) private readonly msgSent: Counter,
    @Inject(getToken(METRIC.msgReceived)) private readonly msgReceived: Counter,
    @Inject(getToken(METRIC.handling)) private readonly handling: Histogram,
    @Inject(getToken(METRIC.retries)) private readonly retries: Counter,
    @Inject(getToken(METRIC.circuitState)) private readonly circuitState: Gauge,
    @Inject(getToken(METRIC.circuitRejected)) private readonly circuitRejected: Counter,
    @Inject(getToken(METRIC.inflight)) private readonly inflight: Gauge,
  ) {}

  /** The bound series of `method`. */
  of(method: ObservedMethod): MethodSeries {
    let s = this.series.get(method);
    if (!s) {
      s = this.bind(method);
      this.series.set(method, s);
    }
    return s;
  }

  /** Records a breaker state (scope '*' for a client-wide breaker, else the RPC name). */
  circuit(client: string, scope: string, state: keyof typeof CIRCUIT_STATE_VALUE): void {
    this.circuitState.labels({ mesh_client: client, scope }).set(CIRCUIT_STATE_VALUE[state]);
  }

  private bind(method: ObservedMethod): MethodSeries {
    const { client, service, method: name } = method.site;
    const labels = { grpc_type: GRPC_TYPE[method.kind], grpc_service: service, grpc_method: name, mesh_client: client };
    const short = { grpc_service: service, grpc_method: name, mesh_client: client };
    const byCode = new Map<string, { inc(): void }>();
    const retriedByCode = new Map<string, { inc(): void }>();
    return {
      started: this.started.labels(labels),
      sent: this.msgSent.labels(labels),
      received: this.msgReceived.labels(labels),
      handling: this.handling.labels(labels),
      inflight: this.inflight.labels({ mesh_client: client }),
      rejected: this.circuitRejected.labels(short),
      handled: (code) => {
        let c = byCode.get(code);
        if (!c) byCode.set(code, (c = this.handled.labels({ ...labels, grpc_code: code })));
        return c;
      },
      retried: (code) => {
        let c = retriedByCode.get(code);
        if (!c) retriedByCode.set(code, (c = this.retries.labels({ ...short, grpc_code: code })));
        return c;
      },
    };
  }
}
