import { createRequire } from 'node:module';
import type { Metadata } from '@grpc/grpc-js';
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  context,
  isSpanContextValid,
  propagation,
  trace,
  type ProxyTracerProvider,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import type { MeshClientError } from '../errors/mesh-client.error.js';
import type { RetryEvent } from '../resilience/retry-decision.js';
import type { ObservedMethod } from './mesh-metrics.js';
import type { SemconvMode } from './semconv.js';
import type { ServerEndpoint } from '../config/target.js';

const TRACER = '@datapunk/mesh-client';
/** The library's own version, as its package.json has it (src/ and dist/ are both two levels below). */
const VERSION = (createRequire(import.meta.url)('../../package.json') as { version: string }).version;

const setter = { set: (carrier: Metadata, key: string, value: string) => carrier.set(key, value) };
const getter = {
  get: (carrier: Record<string, string>, key: string) => carrier[key],
  keys: (carrier: Record<string, string>) => Object.keys(carrier),
};

/**
 * CLIENT spans for mesh calls, through @opentelemetry/api only (no SDK here: without one the
 * API's no-op tracer makes this nearly free). The parent is the active OTel context, or else the
 * `traceparent` of the incoming request the call is made for.
 */
export class CallTracer {
  private readonly tracer: Tracer;
  /** Span name and start attributes of each method, built once (again after a new target). */
  private starts = new WeakMap<ObservedMethod, { name: string; attributes: Attributes }>();

  constructor(
    private readonly mode: SemconvMode,
    private endpoint: ServerEndpoint,
    version = VERSION,
  ) {
    this.tracer = trace.getTracer(TRACER, version);
  }

  /** The client's target changed (`update()`): spans from now on name the new one. */
  retarget(endpoint: ServerEndpoint): void {
    if (endpoint.address === this.endpoint.address && endpoint.port === this.endpoint.port) return;
    this.endpoint = endpoint;
    this.starts = new WeakMap();
  }

  /**
   * Starts the span of a call; `traceparent` is the incoming request's, if any. `ctx` is set only
   * when the span has a valid trace context to propagate (never with the API's no-op tracer).
   * Undefined when there is nothing to record or carry on: no SDK registered, no incoming trace.
   */
  start(method: ObservedMethod, traceparent: string | undefined): { span: Span; ctx: Context | undefined } | undefined {
    let parent = context.active();
    if (!traceparent && !this.sdkRegistered() && !trace.getSpan(parent)) return undefined;
    if (traceparent && !trace.getSpan(parent)) parent = propagation.extract(ROOT_CONTEXT, { traceparent }, getter);
    const { name, attributes } = this.startOf(method);
    const span = this.tracer.startSpan(name, { kind: SpanKind.CLIENT, attributes }, parent);
    return { span, ctx: isSpanContextValid(span.spanContext()) ? trace.setSpan(parent, span) : undefined };
  }

  /**
   * Whether an OpenTelemetry SDK is registered, asked per call (one may be registered, or the
   * global reset, at any time): the global provider is a proxy until an SDK gives it a delegate.
   */
  private sdkRegistered(): boolean {
    const provider = trace.getTracerProvider() as Partial<ProxyTracerProvider>;
    return typeof provider.getDelegateTracer !== 'function' || provider.getDelegateTracer(TRACER) !== undefined;
  }

  /** The span name and start attributes of a method's spans, built once. */
  private startOf(method: ObservedMethod): { name: string; attributes: Attributes } {
    let start = this.starts.get(method);
    if (!start) {
      start = { name: `${method.site.service}/${method.site.method}`, attributes: this.buildAttributes(method) };
      this.starts.set(method, start);
    }
    return start;
  }

  private buildAttributes(method: ObservedMethod): Attributes {
    const { service, method: name } = method.site;
    const attributes: Attributes = {};
    if (this.mode.old) {
      attributes['rpc.system'] = 'grpc';
      attributes['rpc.service'] = service;
      attributes['rpc.method'] = name;
    }
    if (this.mode.stable) {
      attributes['rpc.system.name'] = 'grpc';
      attributes['rpc.method'] = `${service}/${name}`;
      attributes['server.address'] = this.endpoint.address;
      if (this.endpoint.port !== undefined) attributes['server.port'] = this.endpoint.port;
    }
    return Object.freeze(attributes);
  }

  /** Writes the span's W3C trace context into outgoing metadata (replacing a forwarded one). */
  inject(ctx: Context, metadata: Metadata): void {
    propagation.inject(ctx, metadata, setter);
  }

  /** An event per retry. */
  retry(span: Span, event: RetryEvent): void {
    span.addEvent('retry', {
      'rpc.grpc.status_code': event.error.code,
      'mesh.retry.attempt': event.attempt,
      'mesh.retry.delay_ms': event.delayMs,
      'mesh.retry.pushback': event.pushback,
    });
  }

  /** Ends the span with the call's final status. */
  end(span: Span, code: number, codeName: string, error: MeshClientError | undefined): void {
    if (this.mode.old) span.setAttribute('rpc.grpc.status_code', code);
    if (this.mode.stable) span.setAttribute('rpc.response.status_code', codeName);
    if (error) {
      if (this.mode.stable) span.setAttribute('error.type', codeName);
      span.setStatus({ code: SpanStatusCode.ERROR, message: `${codeName}: ${error.category}` });
    }
    span.end();
  }
}
