import { randomUUID } from 'node:crypto';
import { Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { lastValueFrom, of, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientModule, MeshClientRegistry, MeshContext, type MeshClient } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { parseMetrics, valueOf, type Sample } from '../support/prometheus.js';
import { echoClient } from '../support/test-app.js';

describe('Prometheus metrics', () => {
  let server: EchoServer;
  let app: INestApplication;
  let echo: MeshClient;

  const scrape = async (): Promise<Sample[]> => parseMetrics(await (await fetch(`${await app.getUrl()}/metrics`)).text());

  beforeAll(async () => {
    register.clear();
    server = await startEchoServer();
    @Module({
      imports: [
        PrometheusModule.register({ defaultMetrics: { enabled: false } }),
        MeshClientModule.forRoot({
          clients: [
            echoClient(server.target, {
              retry: { initialBackoffMs: 5, maxBackoffMs: 5, budget: false },
              breaker: { scope: 'method', consecutiveFailures: 2 },
            }),
            echoClient(server.target, { name: 'quiet', metrics: false }),
          ],
        }),
      ],
    })
    class MetricsApp {}
    app = await NestFactory.create(MetricsApp, { logger: false });
    await app.listen(0, '127.0.0.1');
    echo = app.get(MeshClientRegistry).get('echo');
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
    register.clear();
  });

  it('a scripted sequence shows the exact counts in every documented series', async () => {
    for (let i = 0; i < 3; i++) await lastValueFrom(echo.unary('Unary', {}));
    for (let i = 0; i < 2; i++)
      await lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-fail-times': '1', 'x-test-call-id': randomUUID() } }));
    const down = { metadata: { 'x-test-status': '14' }, retry: false } as const;
    for (let i = 0; i < 2; i++) await lastValueFrom(echo.clientStream('ClientStream', of({}), down)).catch(() => undefined);
    const rejected = await lastValueFrom(echo.clientStream('ClientStream', of({}))).catch((e: unknown) => e);
    expect(rejected).toMatchObject({ category: 'circuit-open' });
    expect(await lastValueFrom(echo.serverStream('ServerStream', { count: 5 }).pipe(toArray()))).toHaveLength(5);
    await lastValueFrom(app.get(MeshClientRegistry).get('quiet').unary('Unary', {}));

    const m = await scrape();
    const unary = { grpc_type: 'unary', grpc_service: 'mesh.test.Echo', grpc_method: 'Unary', mesh_client: 'echo' };
    const cstream = { grpc_type: 'client_stream', grpc_method: 'ClientStream', mesh_client: 'echo' };
    const sstream = { grpc_type: 'server_stream', grpc_method: 'ServerStream', mesh_client: 'echo' };
    expect(valueOf(m, 'grpc_client_started_total', unary)).toBe(5);
    expect(valueOf(m, 'grpc_client_handled_total', { ...unary, grpc_code: 'OK' })).toBe(5);
    expect(valueOf(m, 'grpc_client_msg_sent_total', unary)).toBe(5);
    expect(valueOf(m, 'grpc_client_msg_received_total', unary)).toBe(5);
    expect(valueOf(m, 'grpc_client_handling_seconds_count', unary)).toBe(5);
    expect(valueOf(m, 'mesh_client_retries_total', { grpc_method: 'Unary', mesh_client: 'echo', grpc_code: 'UNAVAILABLE' })).toBe(2);

    expect(valueOf(m, 'grpc_client_started_total', cstream)).toBe(3);
    expect(valueOf(m, 'grpc_client_handled_total', { ...cstream, grpc_code: 'UNAVAILABLE' })).toBe(3);
    expect(valueOf(m, 'grpc_client_msg_sent_total', cstream)).toBe(2); // the rejected call sent nothing
    expect(valueOf(m, 'mesh_client_circuit_rejected_total', { grpc_method: 'ClientStream', mesh_client: 'echo' })).toBe(1);
    expect(valueOf(m, 'mesh_client_circuit_state', { mesh_client: 'echo', scope: 'ClientStream' })).toBe(2);

    expect(valueOf(m, 'grpc_client_started_total', sstream)).toBe(1);
    expect(valueOf(m, 'grpc_client_msg_sent_total', sstream)).toBe(1);
    expect(valueOf(m, 'grpc_client_msg_received_total', sstream)).toBe(5);
    expect(valueOf(m, 'grpc_client_handled_total', { ...sstream, grpc_code: 'OK' })).toBe(1);
    expect(valueOf(m, 'mesh_client_inflight', { mesh_client: 'echo' })).toBe(0);

    expect(m.filter((s) => s.labels.mesh_client === 'quiet')).toEqual([]);
    const buckets = m.filter((s) => s.name === 'grpc_client_handling_seconds_bucket' && s.labels.grpc_method === 'Unary').map((s) => s.labels.le);
    expect(buckets).toEqual(['0.001', '0.0025', '0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf']);
  });

  it('a breaker replaced by update() reads closed again: its gauge follows', async () => {
    const down = { metadata: { 'x-test-status': '14' }, retry: false } as const;
    for (let i = 0; i < 2; i++) await lastValueFrom(echo.unary('Unary', {}, down)).catch(() => undefined);
    expect(echo.breakerState('Unary')).toBe('open');
    expect(valueOf(await scrape(), 'mesh_client_circuit_state', { mesh_client: 'echo', scope: 'Unary' })).toBe(2);
    echo.update({ breaker: { scope: 'method', consecutiveFailures: 3 } });
    expect(echo.breakerState('Unary')).toBe('closed');
    expect(valueOf(await scrape(), 'mesh_client_circuit_state', { mesh_client: 'echo', scope: 'Unary' })).toBe(0);
  });

  it('calls in flight on a replaced breaker no longer move its gauge: update({ breaker: false }) during failing calls reads 0 after', async () => {
    echo.update({ breaker: { scope: 'method', consecutiveFailures: 2 } });
    const slowDown = { metadata: { 'x-test-status': '14', 'x-test-delay-ms': '200' }, retry: false } as const;
    const inFlight = [0, 1].map(() => lastValueFrom(echo.unary('Unary', {}, slowDown)).catch((e: unknown) => e));
    await new Promise((resolve) => setTimeout(resolve, 50));
    echo.update({ breaker: false });
    expect((await Promise.all(inFlight)).map((e) => (e as { category?: string }).category)).toEqual(['unavailable', 'unavailable']);
    expect(echo.breakerState('Unary')).toBe('closed');
    expect(valueOf(await scrape(), 'mesh_client_circuit_state', { mesh_client: 'echo', scope: 'Unary' })).toBe(0);
  });

  it('grpc_client_msg_sent_total counts the messages of every request-stream form: Observable, array, Set, iterable, AsyncIterable', async () => {
    const sent = async (): Promise<number> =>
      valueOf(await scrape(), 'grpc_client_msg_sent_total', { grpc_type: 'client_stream', grpc_method: 'ClientStream', mesh_client: 'echo' });
    echo.update({ breaker: { scope: 'method', consecutiveFailures: 50 } });
    const before = await sent();
    function* generated(): Iterable<{ message: string }> {
      yield { message: 'a' };
      yield { message: 'b' };
    }
    async function* pulled(): AsyncIterable<{ message: string }> {
      yield { message: 'a' };
      yield { message: 'b' };
    }
    const forms: unknown[] = [of({}, {}), [{}, {}], new Set([{}, {}]), generated(), pulled()];
    for (const requests of forms) await lastValueFrom(echo.clientStream('ClientStream', requests as never));
    expect((await sent()) - before).toBe(10);
  });

  it('1,000 calls with random request ids and tokens: the series do not grow and no label holds them', async () => {
    await lastValueFrom(echo.unary('Unary', {}));
    const before = (await scrape()).length;
    const context = app.get(MeshContext);
    const secrets: string[] = [];
    await Promise.all(
      Array.from({ length: 1000 }, () => {
        const token = `tok-${randomUUID()}`;
        const requestId = randomUUID();
        secrets.push(token, requestId);
        return context.run({ token, requestId }, () => lastValueFrom(echo.unary('Unary', {})));
      }),
    );
    const after = await scrape();
    expect(after.length).toBe(before);
    const labelText = after.flatMap((s) => Object.values(s.labels)).join('\n');
    expect(labelText).not.toMatch(/tok-|[0-9a-f]{8}-[0-9a-f]{4}-/);
    expect(secrets.some((s) => labelText.includes(s))).toBe(false);
  });
});

describe('gauges before the first call', () => {
  it("every client's breaker state (0 closed), in-flight count and concurrency limit have a sample from start", async () => {
    register.clear();
    const server = await startEchoServer();
    @Module({
      imports: [
        PrometheusModule.register({ defaultMetrics: { enabled: false } }),
        MeshClientModule.forRoot({
          clients: [
            echoClient(server.target, { name: 'whole' }),
            echoClient(server.target, { name: 'per-method', breaker: { scope: 'method' } }),
            echoClient(server.target, { name: 'limited', concurrency: { limit: 8 } }),
            echoClient(server.target, { name: 'adaptive', concurrency: { limit: { adaptive: { initial: 12, min: 4 } } } }),
            echoClient(server.target, { name: 'no-breaker', breaker: false }),
            echoClient(server.target, { name: 'quiet', metrics: false }),
          ],
        }),
      ],
    })
    class FreshApp {}
    const app = await NestFactory.create(FreshApp, { logger: false });
    try {
      await app.listen(0, '127.0.0.1');
      const m = parseMetrics(await (await fetch(`${await app.getUrl()}/metrics`)).text());
      const samples = (name: string, client: string) => m.filter((s) => s.name === name && s.labels.mesh_client === client);
      const circuit = (client: string) => samples('mesh_client_circuit_state', client).map((s) => `${s.labels.scope!}=${String(s.value)}`);
      expect(circuit('whole')).toEqual(['*=0']);
      expect(circuit('per-method').sort()).toEqual(['Bidi=0', 'ClientStream=0', 'ServerStream=0', 'Unary=0']);
      expect(circuit('no-breaker')).toEqual([]);
      for (const client of ['whole', 'per-method', 'limited', 'adaptive', 'no-breaker']) {
        expect(samples('mesh_client_inflight', client).map((s) => s.value)).toEqual([0]);
      }
      expect(samples('mesh_client_concurrency_limit', 'limited').map((s) => s.value)).toEqual([8]);
      // adaptive: the limit it starts with, `min` while it measures the latency floor
      expect(samples('mesh_client_concurrency_limit', 'adaptive').map((s) => s.value)).toEqual([4]);
      expect(m.filter((s) => s.labels.mesh_client === 'quiet')).toEqual([]);
    } finally {
      await app.close();
      await server.stop();
      register.clear();
    }
  });
});

describe("the application's customMetricPrefix", () => {
  it('leaves the documented grpc_client_* names of every series as they are, the latency histogram included', async () => {
    register.clear();
    const server = await startEchoServer();
    @Module({
      imports: [
        PrometheusModule.register({ defaultMetrics: { enabled: false }, customMetricPrefix: 'shop' }),
        MeshClientModule.forRoot({ clients: [echoClient(server.target)] }),
      ],
    })
    class PrefixedApp {}
    const app = await NestFactory.create(PrefixedApp, { logger: false });
    try {
      await app.listen(0, '127.0.0.1');
      await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}));
      const m = parseMetrics(await (await fetch(`${await app.getUrl()}/metrics`)).text());
      const names = new Set(m.filter((s) => s.labels.mesh_client === 'echo').map((s) => s.name));
      expect(names).toContain('grpc_client_started_total');
      expect([...names].filter((n) => !/^(grpc_client|mesh_client)_/.test(n))).toEqual([]);
      expect(valueOf(m, 'grpc_client_handling_seconds_count', { grpc_method: 'Unary', mesh_client: 'echo' })).toBe(1);
    } finally {
      await app.close();
      await server.stop();
      register.clear();
    }
  });
});
