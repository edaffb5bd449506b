import { status as Status, type Metadata } from '@grpc/grpc-js';
import type { Context, Span } from '@opentelemetry/api';
import { isMeshClientError, type MeshClientError } from '../errors/mesh-client.error.js';
import type { RetryEvent } from '../resilience/retry-decision.js';
import type { CallTracer } from './call-tracer.js';
import type { MeshMetrics, MethodSeries, ObservedMethod } from './mesh-metrics.js';

const bump = (map: Map<string, number>, key: string): void => void map.set(key, (map.get(key) ?? 0) + 1);

/**
 * Metrics and tracing of one call, from its start to its final outcome. Per-call series count the
 * final outcome only; retries and breaker rejections have their own series.
 */
export class CallObservation {
  private ended = false;
  private readonly startedAt = performance.now();
  private readonly span: Span | undefined;
  private readonly ctx: Context | undefined;

  constructor(
    private readonly series: MethodSeries | undefined,
    private readonly tracer: CallTracer | undefined,
    method: ObservedMethod,
    traceparent: string | undefined,
  ) {
    if (series) {
      series.counts.started++;
      series.counts.inflight++;
    }
    const started = tracer?.start(method, traceparent);
    if (started) ({ span: this.span, ctx: this.ctx } = started);
  }

  /** Puts the call's trace context into its outgoing metadata (only a real one). */
  inject(metadata: Metadata): void {
    if (this.ctx) this.tracer!.inject(this.ctx, metadata);
  }

  sent(): void {
    if (this.series) this.series.counts.sent++;
  }

  received(): void {
    if (this.series) this.series.counts.received++;
  }

  /** Records a hedged copy sent. */
  hedged(): void {
    if (this.series) this.series.counts.hedged++;
    this.span?.addEvent('hedge');
  }

  /** Records a retry. */
  onRetry(event: RetryEvent): void {
    if (this.series) bump(this.series.counts.retried, event.error.codeName);
    if (this.span) this.tracer!.retry(this.span, event);
  }

  /** The final outcome: success (no error) or the error the subscriber got. */
  end(error?: unknown): void {
    const meshError: MeshClientError | undefined = isMeshClientError(error) ? error : undefined;
    if (error === undefined) this.finish(Status.OK, 'OK', undefined);
    else this.finish(meshError?.code ?? Status.UNKNOWN, meshError?.codeName ?? 'UNKNOWN', meshError);
  }

  /** Ends a call its subscriber left before it finished (no-op once ended). */
  cancel(): void {
    if (!this.ended) this.finish(Status.CANCELLED, 'CANCELLED', undefined);
  }

  private finish(code: number, codeName: string, meshError: MeshClientError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    const series = this.series;
    if (series) {
      series.counts.inflight--;
      bump(series.counts.handled, codeName);
      series.handling.observe((performance.now() - this.startedAt) / 1000);
      if (meshError?.category === 'circuit-open') series.counts.rejected++;
    }
    if (this.span) this.tracer!.end(this.span, code, codeName, meshError);
  }
}

/** Starts observations for the calls of one client (metrics and/or tracing as configured). */
export class CallTelemetry {
  constructor(
    private readonly metrics: MeshMetrics | undefined,
    private readonly tracer: CallTracer | undefined,
  ) {}

  begin(method: ObservedMethod, traceparent: string | undefined): CallObservation {
    return new CallObservation(this.metrics?.of(method), this.tracer, method, traceparent);
  }
}
