import { status } from '@grpc/grpc-js';
import { TerminusModule } from '@nestjs/terminus';
import type { TestingModule } from '@nestjs/testing';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { HealthImplementation } from 'grpc-health-check';
import { register } from 'prom-client';
import { from, lastValueFrom, toArray } from 'rxjs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, MeshHealthIndicator, type MeshClient, type MeshClientOptions } from '@datapunk/mesh-client';
import { failureOf } from '../support/errors.js';
import { startEchoServer, type EchoServer, type EchoServerOptions } from '../support/echo-server.js';
import { CLIENT_ID, SERVER_ID, createTestPki, serverCredentials } from '../support/pki.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { createTestApp, echoClient } from '../support/test-app.js';
import { XdsControlPlane } from '../support/xds-control-plane.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` every 20 ms until it holds or `ms` passed; returns whether it held. */
async function eventually(check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (check()) return true;
    await sleep(20);
  }
  return check();
}

/** Sequential unary calls until `check` holds (at most `ms`); returns whether it held. */
async function callUntil(client: MeshClient, check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await lastValueFrom(client.unary('Unary', { message: 'warm-up' }));
  return check();
}

/** Unary calls, `concurrency` at a time, until stopped; counts successes and failures. */
function backgroundLoad(client: MeshClient, concurrency: number) {
  const state = { ok: 0, failed: [] as string[], running: true };
  const worker = async (): Promise<void> => {
    while (state.running) {
      await lastValueFrom(client.unary('Unary', { message: 'load' })).then(
        () => state.ok++,
        (e: unknown) => state.failed.push(String(e)),
      );
    }
  };
  const done = Promise.all(Array.from({ length: concurrency }, worker));
  return {
    state,
    stop: async () => {
      state.running = false;
      await done;
      return state;
    },
  };
}

describe('xds:/// targets through an in-test xDS control plane (@grpc/grpc-js-xds)', () => {
  let plane: XdsControlPlane;
  const servers: EchoServer[] = [];
  const apps: TestingModule[] = [];
  const start = async (options?: EchoServerOptions): Promise<EchoServer> => {
    const s = await startEchoServer(options);
    servers.push(s);
    return s;
  };
  const xdsClient = (service: string, extra: Partial<MeshClientOptions> = {}): MeshClientOptions =>
    echoClient(`xds:///${service}`, { xds: { bootstrap: plane.bootstrap }, ...extra });
  const app = async (client: MeshClientOptions, imports: unknown[] = []): Promise<{ echo: MeshClient; app: TestingModule }> => {
    const a = await createTestApp({ clients: [client] }, imports);
    apps.push(a);
    return { echo: a.get(MeshClientRegistry).get('echo'), app: a };
  };

  beforeAll(async () => {
    plane = await XdsControlPlane.start();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await plane.stop();
  });

  it('every call kind reaches the backends the control plane names, spread round robin', async () => {
    const [a, b] = [await start(), await start()];
    plane.serve('echo-rr', [a.port, b.port]);
    const { echo } = await app(xdsClient('echo-rr'));

    expect(await lastValueFrom(echo.unary<EchoRequest, EchoReply>('Unary', { message: 'hi' }))).toMatchObject({ message: 'hi' });
    const streamed = await lastValueFrom(echo.serverStream<EchoRequest, EchoReply>('ServerStream', { message: 's', count: 3 }).pipe(toArray()));
    expect(streamed.map((r) => r.index)).toEqual([0, 1, 2]);
    const summed = await lastValueFrom(echo.clientStream<EchoRequest, EchoReply>('ClientStream', from([{ message: 'a' }, { message: 'b' }])));
    expect(summed.received).toBe(2);
    const echoed = await lastValueFrom(echo.bidiStream<EchoRequest, EchoReply>('Bidi', from([{ message: 'x' }, { message: 'y' }])).pipe(toArray()));
    expect(echoed.map((r) => r.message)).toEqual(['x', 'y']);

    // round_robin connects to both; once both are up, consecutive calls alternate
    expect(await callUntil(echo, () => a.calls.length > 0 && b.calls.length > 0, 2000)).toBe(true);
    const before = [a.calls.length, b.calls.length];
    for (let i = 0; i < 100; i++) await lastValueFrom(echo.unary('Unary', { message: String(i) }));
    const spread = [a.calls.length - before[0]!, b.calls.length - before[1]!];
    expect(spread[0]! + spread[1]!).toBe(100);
    expect(Math.min(...spread)).toBeGreaterThanOrEqual(45);
    expect(plane.nacks).toEqual([]);
  });

  it('an endpoint the control plane removes gets no traffic within 2 s and no call fails; an added one gets traffic within 2 s', async () => {
    const [a, b, c] = [await start(), await start(), await start()];
    plane.serve('echo-churn', [a.port, b.port]);
    const { echo } = await app(xdsClient('echo-churn'));
    const load = backgroundLoad(echo, 4);
    expect(await eventually(() => a.calls.length > 0 && b.calls.length > 0, 3000)).toBe(true);

    const removedAt = Date.now();
    plane.setEndpoints('echo-churn', [a.port]);
    await sleep(2500);
    const lateOnB = b.arrivedAt.filter((t) => t > removedAt + 2000);
    expect(lateOnB).toEqual([]);
    const aBefore = a.calls.length;
    await sleep(200);
    expect(a.calls.length).toBeGreaterThan(aBefore); // the load goes on, all of it to a

    const addedAt = Date.now();
    plane.setEndpoints('echo-churn', [a.port, c.port]);
    expect(await eventually(() => c.calls.length > 0, 2000)).toBe(true);
    expect(c.arrivedAt[0]! - addedAt).toBeLessThan(2000);

    const { ok, failed } = await load.stop();
    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThan(100);
  });

  it('retry, breaker and metrics work on top: the mesh_client label is the client name, never an address', async () => {
    register.clear();
    const [a, b] = [await start(), await start()];
    a.outage = status.UNAVAILABLE;
    plane.serve('echo-resilient', [a.port, b.port]);
    const { echo } = await app(xdsClient('echo-resilient', { retry: { budget: false, initialBackoffMs: 5 }, breaker: { failureRateThreshold: 0.9, consecutiveFailures: 5 } }), [
      PrometheusModule.register({ defaultMetrics: { enabled: false } }),
    ]);
    for (let i = 0; i < 40; i++) await lastValueFrom(echo.unary('Unary', { message: String(i) })); // none may fail: a's refusals are retried on b
    expect(a.calls.length).toBeGreaterThan(0);

    const samples = parseMetrics(await register.metrics());
    expect(valueOf(samples, 'grpc_client_handled_total', { mesh_client: 'echo', grpc_code: 'OK' })).toBe(40);
    expect(valueOf(samples, 'mesh_client_retries_total', { mesh_client: 'echo' })).toBeGreaterThan(0);
    const labelValues = samples.flatMap((s) => Object.values(s.labels));
    expect(labelValues.filter((v) => /xds:|127\.0\.0\.1|:\d{2,5}$/.test(v))).toEqual([]);

    b.outage = status.UNAVAILABLE;
    const errors = [];
    for (let i = 0; i < 8; i++) errors.push(await failureOf(lastValueFrom(echo.unary('Unary', {}, { retry: false }))));
    expect(errors.map((e) => e.category)).toContain('circuit-open');
  });

  it('mutual TLS from the client options when the control plane supplies no security', async () => {
    const pki = await createTestPki();
    const a = await start({ credentials: serverCredentials(pki) });
    plane.serve('echo-mtls', [a.port]);
    const tls = { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key, expectedServerIds: [SERVER_ID] };
    const { echo } = await app({ ...xdsClient('echo-mtls'), insecure: undefined, tls });
    expect(await lastValueFrom(echo.unary<EchoRequest, EchoReply>('Unary', { message: 'secure' }))).toMatchObject({ message: 'secure' });
    expect(a.lastPeerSan).toContain(CLIENT_ID);
  });

  it('update({ target }) moves a running client onto an xds target and back', async () => {
    const [direct, meshed] = [await start(), await start()];
    plane.serve('echo-moved', [meshed.port]);
    const { echo } = await app(echoClient(direct.target, { xds: { bootstrap: plane.bootstrap } }));
    await lastValueFrom(echo.unary('Unary', {}));
    echo.update({ target: 'xds:///echo-moved' });
    await lastValueFrom(echo.unary('Unary', {}));
    echo.update({ target: direct.target });
    await lastValueFrom(echo.unary('Unary', {}));
    expect([direct.calls.length, meshed.calls.length]).toEqual([2, 1]);
  });

  it('closing the app ends its xDS subscriptions (the control plane sees the ADS stream go)', async () => {
    const a = await start();
    plane.serve('echo-close', [a.port]);
    const { echo, app: closing } = await app(xdsClient('echo-close'));
    await lastValueFrom(echo.unary('Unary', {}));
    expect(plane.activeStreams).toBe(1);
    await closing.close();
    expect(await eventually(() => plane.activeStreams === 0, 2000)).toBe(true);
  });

  it('the control plane goes away: calls keep flowing to the last known endpoints, and the health check says so', async () => {
    const health = new HealthImplementation({ '': 'SERVING' });
    const [a, b] = [await start({ health }), await start({ health })];
    plane.serve('echo-cached', [a.port, b.port]);
    const { echo, app: withHealth } = await app(xdsClient('echo-cached'), [TerminusModule]);
    const indicator = withHealth.get(MeshHealthIndicator);
    expect(await indicator.isHealthy('echo', { client: 'echo' })).toEqual({ echo: expect.objectContaining({ status: 'up', servingStatus: 'SERVING', controlPlane: 'reachable' }) });
    expect(await callUntil(echo, () => a.calls.length > 0 && b.calls.length > 0, 2000)).toBe(true);

    const port = plane.port;
    await plane.stop();
    expect(await echo.checkControlPlane()).toBe('unreachable');
    const [aBefore, bBefore] = [a.calls.length, b.calls.length];
    for (let i = 0; i < 50; i++) await lastValueFrom(echo.unary('Unary', { message: String(i) }));
    expect(a.calls.length - aBefore).toBeGreaterThan(0);
    expect(b.calls.length - bBefore).toBeGreaterThan(0);
    expect(await indicator.isHealthy('echo', { client: 'echo' })).toEqual({ echo: expect.objectContaining({ status: 'up', servingStatus: 'SERVING', controlPlane: 'unreachable' }) });

    plane = await XdsControlPlane.start(port); // back where it was: the client resubscribes
    plane.serve('echo-cached', [a.port, b.port]);
    expect(await echo.checkControlPlane()).toBe('reachable');
    expect(await eventually(() => plane.activeStreams === 1, 20_000)).toBe(true); // after grpc-js-xds's reconnect backoff
  }, 40_000);
});
