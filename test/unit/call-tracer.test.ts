import { propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { afterEach, describe, expect, it } from 'vitest';
import { CallTracer } from '../../libs/mesh-client/src/observability/call-tracer.js';
import { semconvMode } from '../../libs/mesh-client/src/observability/semconv.js';

const method = { kind: 'unary', site: { client: 'c', service: 'pkg.Svc', method: 'Get', maxMessageBytes: 1 } } as const;
const TRACEPARENT = '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01';

describe('CallTracer without and with an OpenTelemetry SDK', () => {
  afterEach(() => {
    trace.disable();
    propagation.disable();
  });

  it('without an SDK and without an incoming trace there is nothing to record or carry: no span at all', () => {
    const tracer = new CallTracer(semconvMode(undefined), { address: 'h', port: 1 });
    expect(tracer.start(method, undefined)).toBeUndefined();
  });

  it('without an SDK but with a W3C propagator, an incoming traceparent is still carried on (the no-op span keeps its context)', () => {
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    const tracer = new CallTracer(semconvMode(undefined), { address: 'h', port: 1 });
    const started = tracer.start(method, TRACEPARENT);
    expect(started?.ctx).toBeDefined();
    expect(started?.span.spanContext().traceId).toBe('0af7651916cd43dd8448eb211c80319c');
  });

  it('an SDK registered after the tracer was built records spans from then on', () => {
    const tracer = new CallTracer(semconvMode(undefined), { address: 'h', port: 1 });
    expect(tracer.start(method, undefined)).toBeUndefined();
    const exporter = new InMemorySpanExporter();
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    const started = tracer.start(method, undefined);
    expect(started?.span.isRecording()).toBe(true);
    tracer.end(started!.span, 0, 'OK', undefined);
    expect(exporter.getFinishedSpans().map((s) => s.name)).toEqual(['pkg.Svc/Get']);
  });
});
