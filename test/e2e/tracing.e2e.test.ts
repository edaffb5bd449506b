import { randomUUID } from 'node:crypto';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { SpanKind, SpanStatusCode, propagation, trace } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { lastValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { InjectMeshClient, MeshClientRegistry, MeshClientModule, type MeshClient } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { createTestApp, echoClient } from '../support/test-app.js';

const TRACE_ID = '0af7651916cd43dd8448eb211c80319c';
const PARENT_SPAN = 'b7ad6b7169203331';

@Controller()
class TracedController {
  constructor(@InjectMeshClient('echo') private readonly echo: MeshClient) {}
  @Get('call')
  call(): Promise<unknown> {
    return lastValueFrom(this.echo.unary('Unary', { message: 'traced' }));
  }
}

describe('OpenTelemetry tracing', () => {
  const exporter = new InMemorySpanExporter();
  let server: EchoServer;

  beforeAll(async () => {
    trace.setGlobalTracerProvider(new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] }));
    propagation.setGlobalPropagator(new W3CTraceContextPropagator());
    server = await startEchoServer();
  });
  afterEach(() => exporter.reset());
  afterAll(async () => {
    await server.stop();
    trace.disable();
    propagation.disable();
  });

  it('continues the trace of an incoming HTTP request: one CLIENT span per call, and the server gets its traceparent', async () => {
    @Module({ imports: [MeshClientModule.forRoot({ clients: [echoClient(server.target)] })], controllers: [TracedController] })
    class TracedApp {}
    const app: INestApplication = await NestFactory.create(TracedApp, { logger: false });
    await app.listen(0, '127.0.0.1');
    try {
      const res = await fetch(`${await app.getUrl()}/call`, { headers: { traceparent: `00-${TRACE_ID}-${PARENT_SPAN}-01` } });
      expect(res.status).toBe(200);
    } finally {
      await app.close();
    }
    const spans = exporter.getFinishedSpans();
    expect(spans).toHaveLength(1);
    const span = spans[0]!;
    expect(span.name).toBe('mesh.test.Echo/Unary');
    expect(span.kind).toBe(SpanKind.CLIENT);
    expect(span.spanContext().traceId).toBe(TRACE_ID);
    expect(span.parentSpanContext?.spanId).toBe(PARENT_SPAN);
    expect(span.attributes).toMatchObject({
      'rpc.system': 'grpc',
      'rpc.service': 'mesh.test.Echo',
      'rpc.method': 'Unary',
      'rpc.grpc.status_code': 0,
    });
    expect(span.status.code).toBe(SpanStatusCode.UNSET);
    expect(server.metadataSeen.at(-1)!.get('traceparent')).toEqual([`00-${TRACE_ID}-${span.spanContext().spanId}-01`]);
  });

  it('records an event per retry and an error status with the final code', async () => {
    const app = await createTestApp({
      clients: [echoClient(server.target, { retry: { initialBackoffMs: 5, maxBackoffMs: 5, budget: false }, breaker: false })],
    });
    const echo = app.get(MeshClientRegistry).get('echo');
    await lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-fail-times': '2', 'x-test-call-id': randomUUID() } }));
    await lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-status': '5' } })).catch(() => undefined);
    await app.close();
    const [retried, failed] = exporter.getFinishedSpans();
    expect(retried!.events.map((e) => [e.name, e.attributes?.['rpc.grpc.status_code']])).toEqual([
      ['retry', 14],
      ['retry', 14],
    ]);
    expect(failed!.status).toEqual({ code: SpanStatusCode.ERROR, message: 'NOT_FOUND: not-found' });
    expect(failed!.attributes['rpc.grpc.status_code']).toBe(5);
  });

  it.each([
    ['rpc', false],
    ['rpc/dup', true],
  ])('OTEL_SEMCONV_STABILITY_OPT_IN=%s gives the v1.39+ attributes (old ones too: %s)', async (optIn, dup) => {
    process.env.OTEL_SEMCONV_STABILITY_OPT_IN = optIn;
    try {
      const app = await createTestApp({ clients: [echoClient(server.target, { retry: false })] });
      await lastValueFrom(
        app
          .get(MeshClientRegistry)
          .get('echo')
          .unary('Unary', {}, { metadata: { 'x-test-status': '14' } }),
      ).catch(() => undefined);
      await app.close();
    } finally {
      delete process.env.OTEL_SEMCONV_STABILITY_OPT_IN;
    }
    const attributes = exporter.getFinishedSpans()[0]!.attributes;
    expect(attributes).toMatchObject({
      'rpc.system.name': 'grpc',
      'rpc.method': 'mesh.test.Echo/Unary',
      'rpc.response.status_code': 'UNAVAILABLE',
      'server.address': '127.0.0.1',
      'server.port': server.port,
      'error.type': 'UNAVAILABLE',
    });
    expect('rpc.system' in attributes).toBe(dup);
    expect('rpc.grpc.status_code' in attributes).toBe(dup);
  });

  it('after update({ target }) spans name the new server (server.address, server.port)', async () => {
    const second = await startEchoServer();
    process.env.OTEL_SEMCONV_STABILITY_OPT_IN = 'rpc';
    try {
      const app = await createTestApp({ clients: [echoClient(server.target, { retry: false })] });
      const echo = app.get(MeshClientRegistry).get('echo');
      await lastValueFrom(echo.unary('Unary', {}));
      echo.update({ target: `localhost:${String(second.port)}` });
      await lastValueFrom(echo.unary('Unary', {}));
      await app.close();
    } finally {
      delete process.env.OTEL_SEMCONV_STABILITY_OPT_IN;
      await second.stop();
    }
    const servers = exporter.getFinishedSpans().map((span) => [span.attributes['server.address'], span.attributes['server.port']]);
    expect(servers).toEqual([
      ['127.0.0.1', server.port],
      ['localhost', second.port],
    ]);
  });

  it('tracing: false makes no spans', async () => {
    const app = await createTestApp({ clients: [echoClient(server.target, { tracing: false })] });
    await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}));
    await app.close();
    expect(exporter.getFinishedSpans()).toEqual([]);
  });
});
