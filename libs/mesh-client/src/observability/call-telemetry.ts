import { status as Status, type Metadata } from '@grpc/grpc-js';
import type { Context, Span } from '@opentelemetry/api';
import { isMeshClientError, type MeshClientError } from '../errors/mesh-client.error.js';
import type { RetryEvent } from '../resilience/retry.operator.js';
import type { CallTracer } from './call-tracer.js';
import type { MeshMetrics, MethodSeries, ObservedMethod } from './mesh-metrics.js';

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
    series?.started.inc();
    series?.inflight.inc();
    if (tracer) ({ span: this.span, ctx: this.ctx } = tracer.start(method, traceparent));
  }

  /** Puts the call's trace context into its outgoing metadata. */
  inject(metadata: Metadata): void {
    if (this.tracer && this.ctx) this.tracer.inject(this.ctx, metadata);
  }

  sent(): void {
    this.series?.sent.inc();
  }

  received(): void {
    this.series?.received.inc();
  }

  retry(event: RetryEvent): void {
    this.series?.retried(event.error.codeName).inc();
    if (this.span) this.tracer!.retry(this.span, event);
  }

  /** The final outcome: success (no error) or the error the subscriber got. */
  end(error?: unknown): void {
    const meshError: MeshClientError | undefined = isMeshClientError(error) ? error : undefined;
    if (error === undefined) this.finish(Status.OK, 'OK', undefined);
    else this.finish(meshError?.code ?? Status.UNKNOWN, meshError?.codeName ?? 'UNKNOWN', meshError);
  }

  /** Ends a call its subscriber left before it finished. */
  cancel(): void {
    this.finish(Status.CANCELLED, 'CANCELLED', undefined);
  }

  private finish(code: number, codeName: string, meshError: MeshClientError | undefined): void {
    if (this.ended) return;
    this.ended = true;
    if (this.series) {
      this.series.inflight.dec();
      this.series.handled(codeName).inc();
      this.series.handling.observe((performance.now() - this.startedAt) / 1000);
      if (meshError?.category === 'circuit-open') this.series.rejected.inc();
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
