import { TerminusModule } from '@nestjs/terminus';
import { HealthImplementation } from 'grpc-health-check';
import { lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { MeshHealthIndicator } from '@datapunk/mesh-client';
import { XdsControlPlane } from '../support/xds-control-plane.js';
import { callUntil, eventually, useXdsFixture } from '../support/xds-fixture.js';

// Its own file, so its own process: grpc-js-xds 1.14 keeps one ADS client per process and never
// resets its stream backoff after a response (1 s, 1.6 s, 2.6 s ... per stream started), so after
// the other xDS tests' streams a resubscription could wait 20 s or more. Here it is the second
// stream, and the wait is the channel's reconnect backoff after a short outage.
describe('xds:/// when the control plane goes away', () => {
  const fx = useXdsFixture();

  it('calls keep flowing to the last known endpoints, the health check says so, and the client resubscribes', async () => {
    const health = new HealthImplementation({ '': 'SERVING' });
    const [a, b] = [await fx.start({ health }), await fx.start({ health })];
    fx.plane.serve('echo-cached', [a.port, b.port]);
    const { echo, app: withHealth } = await fx.app(fx.xdsClient('echo-cached'), [TerminusModule]);
    const indicator = withHealth.get(MeshHealthIndicator);
    expect(await indicator.isHealthy('echo', { client: 'echo' })).toEqual({
      echo: expect.objectContaining({ status: 'up', servingStatus: 'SERVING', controlPlane: 'reachable' }),
    });
    expect(await callUntil(echo, () => a.calls.length > 0 && b.calls.length > 0, 2000)).toBe(true);

    const port = fx.plane.port;
    await fx.plane.stop();
    expect(await echo.checkControlPlane()).toBe('unreachable');
    const [aBefore, bBefore] = [a.calls.length, b.calls.length];
    for (let i = 0; i < 50; i++) await lastValueFrom(echo.unary('Unary', { message: String(i) }));
    expect(a.calls.length - aBefore).toBeGreaterThan(0);
    expect(b.calls.length - bBefore).toBeGreaterThan(0);
    expect(await indicator.isHealthy('echo', { client: 'echo' })).toEqual({
      echo: expect.objectContaining({ status: 'up', servingStatus: 'SERVING', controlPlane: 'unreachable' }),
    });

    fx.plane = await XdsControlPlane.start(port); // back where it was
    fx.plane.serve('echo-cached', [a.port, b.port]);
    expect(await echo.checkControlPlane()).toBe('reachable');
    expect(await eventually(() => fx.plane.activeStreams === 1, 20_000)).toBe(true);
    expect(fx.plane.nacks).toEqual([]);
  }, 40_000);
});
