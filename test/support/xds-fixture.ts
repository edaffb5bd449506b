import type { TestingModule } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { MeshClientRegistry, type MeshClient, type MeshClientOptions } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer, type EchoServerOptions } from './echo-server.js';
import { createTestApp, echoClient } from './test-app.js';
import { XdsControlPlane } from './xds-control-plane.js';

export { eventually, sleep } from './wait.js';

/** Sequential unary calls until `check` holds (at most `ms`); returns whether it held. */
export async function callUntil(client: MeshClient, check: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (!check() && Date.now() < end) await lastValueFrom(client.unary('Unary', { message: 'warm-up' }));
  return check();
}

/**
 * One in-test control plane for a describe block, echo backends and Nest apps that are closed after
 * each test. `plane` may be replaced by a test (a restarted control plane); the fixture stops the
 * current one.
 */
export function useXdsFixture() {
  const servers: EchoServer[] = [];
  const apps: TestingModule[] = [];
  const fixture = {
    plane: undefined as unknown as XdsControlPlane,
    async start(options?: EchoServerOptions): Promise<EchoServer> {
      const s = await startEchoServer(options);
      servers.push(s);
      return s;
    },
    xdsClient(service: string, extra: Partial<MeshClientOptions> = {}): MeshClientOptions {
      return echoClient(`xds:///${service}`, { xds: { bootstrap: fixture.plane.bootstrap }, ...extra });
    },
    async app(client: MeshClientOptions, imports: unknown[] = []): Promise<{ echo: MeshClient; app: TestingModule }> {
      const a = await createTestApp({ clients: [client] }, imports);
      apps.push(a);
      return { echo: a.get(MeshClientRegistry).get('echo'), app: a };
    },
  };
  beforeAll(async () => {
    fixture.plane = await XdsControlPlane.start();
  });
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });
  afterAll(async () => {
    await fixture.plane.stop();
  });
  return fixture;
}
