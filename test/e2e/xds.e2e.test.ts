import { status } from '@grpc/grpc-js';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { from, lastValueFrom, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { MeshClient } from '@datapunk/mesh-client';
import { failureOf } from '../support/errors.js';
import { CLIENT_ID, SERVER_ID, createTestPki, serverCredentials } from '../support/pki.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { echoClient } from '../support/test-app.js';
import { callUntil, eventually, useXdsFixture } from '../support/xds-fixture.js';

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
  const fx = useXdsFixture();
  const { start, app, xdsClient } = fx;

  it("one retry layer: a route asking for 5 attempts on UNAVAILABLE never multiplies with the client's", async () => {
    const a = await start();
    a.outage = status.UNAVAILABLE;
    fx.plane.serve('echo-retry', [a.port], { retries: 4 });
    const { echo } = await app(
      xdsClient('echo-retry', { breaker: false, retry: { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 5, budget: false } }),
    );
    expect(await failureOf(lastValueFrom(echo.unary('Unary', {})))).toMatchObject({ category: 'unavailable', attempts: 3 });
    expect(a.calls).toHaveLength(3);
    expect(await failureOf(lastValueFrom(echo.unary('Unary', {}, { retry: false })))).toMatchObject({ attempts: 1 });
    expect(a.calls).toHaveLength(4);
    expect(fx.plane.nacks).toEqual([]);
  });

  it('every call kind reaches the backends the control plane names, spread round robin', async () => {
    const [a, b] = [await start(), await start()];
    fx.plane.serve('echo-rr', [a.port, b.port]);
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
    expect(fx.plane.nacks).toEqual([]);
  });

  it('an endpoint the control plane removes gets no traffic within 2 s and no call fails; an added one gets traffic within 2 s', async () => {
    const [a, b, c] = [await start(), await start(), await start()];
    fx.plane.serve('echo-churn', [a.port, b.port]);
    const { echo } = await app(xdsClient('echo-churn'));
    const load = backgroundLoad(echo, 4);
    expect(await eventually(() => a.calls.length > 0 && b.calls.length > 0, 3000)).toBe(true);

    const removedAt = Date.now();
    fx.plane.setEndpoints('echo-churn', [a.port]);
    // Until 50 calls in a row went to a and none to b: b is out of the picture.
    let bSeen = b.calls.length;
    let aSince = a.calls.length;
    const drained = await eventually(() => {
      if (b.calls.length !== bSeen) [bSeen, aSince] = [b.calls.length, a.calls.length];
      return a.calls.length - aSince >= 50;
    }, 5000);
    expect(drained).toBe(true);
    expect(b.arrivedAt.filter((t) => t > removedAt + 2000)).toEqual([]); // b's last call came within 2 s of the removal

    const addedAt = Date.now();
    fx.plane.setEndpoints('echo-churn', [a.port, c.port]);
    expect(await eventually(() => c.calls.length > 0, 2000)).toBe(true);
    expect(c.arrivedAt[0]! - addedAt).toBeLessThan(2000);

    const { ok, failed } = await load.stop();
    expect(failed).toEqual([]);
    expect(ok).toBeGreaterThanOrEqual(50); // at least the 50 in a row that went to a
  });

  it('retry, breaker and metrics work on top: the mesh_client label is the client name, never an address', async () => {
    register.clear();
    const [a, b] = [await start(), await start()];
    a.outage = status.UNAVAILABLE;
    fx.plane.serve('echo-resilient', [a.port, b.port]);
    const { echo } = await app(
      xdsClient('echo-resilient', { retry: { budget: false, initialBackoffMs: 5 }, breaker: { failureRateThreshold: 0.9, consecutiveFailures: 5 } }),
      [PrometheusModule.register({ defaultMetrics: { enabled: false } })],
    );
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
    fx.plane.serve('echo-mtls', [a.port]);
    const tls = { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key, expectedServerIds: [SERVER_ID] };
    const { echo } = await app({ ...xdsClient('echo-mtls'), insecure: undefined, tls });
    expect(await lastValueFrom(echo.unary<EchoRequest, EchoReply>('Unary', { message: 'secure' }))).toMatchObject({ message: 'secure' });
    expect(a.lastPeerSan).toContain(CLIENT_ID);
  });

  it('update({ target }) moves a running client onto an xds target and back', async () => {
    const [direct, meshed] = [await start(), await start()];
    fx.plane.serve('echo-moved', [meshed.port]);
    const { echo } = await app(echoClient(direct.target, { xds: { bootstrap: fx.plane.bootstrap } }));
    await lastValueFrom(echo.unary('Unary', {}));
    echo.update({ target: 'xds:///echo-moved' });
    await lastValueFrom(echo.unary('Unary', {}));
    echo.update({ target: direct.target });
    await lastValueFrom(echo.unary('Unary', {}));
    expect([direct.calls.length, meshed.calls.length]).toEqual([2, 1]);
  });

  it('closing the app ends its xDS subscriptions (the control plane sees the ADS stream go)', async () => {
    const a = await start();
    fx.plane.serve('echo-close', [a.port]);
    const { echo, app: closing } = await app(xdsClient('echo-close'));
    await lastValueFrom(echo.unary('Unary', {}));
    expect(fx.plane.activeStreams).toBe(1);
    await closing.close();
    expect(await eventually(() => fx.plane.activeStreams === 0, 2000)).toBe(true);
  });
});
