import { Counter, Gauge, Histogram, register } from 'prom-client';
import { lastValueFrom } from 'rxjs';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { MeshClientRegistry, isMeshConfigError } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { createTestApp, echoClient, moduleStartError } from '../support/test-app.js';

// Found by a hostile run at a1ad687: a series of the library's name already on prom-client's
// default registry (another gRPC client instrumentation names its series the same) was taken as
// it was: a histogram failed start with prom-client's plain "already registered", a counter with
// the same labels silently counted nothing (its collect hook is not the library's), and one with
// other labels threw at app.close(), skipping the plugins' onModuleDestroy.
describe("a series of the library's name registered by someone else", () => {
  let server: EchoServer;
  beforeAll(async () => {
    server = await startEchoServer();
  });
  afterAll(async () => server.stop());
  afterEach(() => register.clear());

  it.each([
    [
      'a histogram',
      () => new Histogram({ name: 'grpc_client_handling_seconds', help: 'theirs', labelNames: ['grpc_method'] }),
      'grpc_client_handling_seconds',
    ],
    [
      'a counter with the same labels',
      () =>
        new Counter({ name: 'grpc_client_started_total', help: 'theirs', labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'mesh_client'] }),
      'grpc_client_started_total',
    ],
    [
      'a counter with other labels',
      () => new Counter({ name: 'grpc_client_msg_sent_total', help: 'theirs', labelNames: ['grpc_method'] }),
      'grpc_client_msg_sent_total',
    ],
    ['a gauge', () => new Gauge({ name: 'mesh_client_inflight', help: 'theirs' }), 'mesh_client_inflight'],
  ])('%s: start-up fails naming it', async (_what, make, name) => {
    register.clear();
    make();
    const error = await moduleStartError({ clients: [echoClient(server.target)] });
    expect(isMeshConfigError(error)).toBe(true);
    expect((error as Error).message).toContain(
      `Prometheus metric '${name}' is already registered on prom-client's default registry, and not by @datapunk/mesh-client`,
    );
  });

  it('a series of a copy of another version (its mark of another layout): start-up fails saying so', async () => {
    register.clear();
    const theirs = new Counter({ name: 'grpc_client_handled_total', help: 'RPCs completed by mesh clients, by final status code.' });
    Object.defineProperty(theirs, Symbol.for('@datapunk/mesh-client.metric'), { value: true });
    const error = await moduleStartError({ clients: [echoClient(server.target)] });
    expect((error as Error).message).toContain(
      "Prometheus metric 'grpc_client_handled_total' is already registered on prom-client's default registry, by a copy of @datapunk/mesh-client of another version",
    );
  });

  it("an older copy of the library's series (its help, no mark): start-up fails saying so (the two could not share it)", async () => {
    register.clear();
    new Counter({
      name: 'grpc_client_started_total',
      help: 'RPCs started by mesh clients.',
      labelNames: ['grpc_type', 'grpc_service', 'grpc_method', 'mesh_client'],
    });
    const error = await moduleStartError({ clients: [echoClient(server.target)] });
    expect(isMeshConfigError(error)).toBe(true);
    expect((error as Error).message).toContain(
      "Prometheus metric 'grpc_client_started_total' is already registered on prom-client's default registry, by a copy of @datapunk/mesh-client of another version (the two cannot share a series)",
    );
  });

  it("a global PrometheusModule with customMetricPrefix renames none of the library's series (before: all but the histogram)", async () => {
    register.clear();
    const app = await createTestApp({ clients: [echoClient(server.target)] }, [
      PrometheusModule.register({ customMetricPrefix: 'svc', global: true }),
    ]);
    try {
      await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}));
      const names = register.getMetricsAsArray().map((m) => m.name);
      expect(names).toEqual(expect.arrayContaining(['grpc_client_started_total', 'grpc_client_handling_seconds', 'mesh_client_inflight']));
      expect(names.filter((n) => n.startsWith('svc_grpc_client') || n.startsWith('svc_mesh_client'))).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('the series of another app of the process (the library registered them) are shared, and both count', async () => {
    register.clear();
    const first = await createTestApp({ clients: [echoClient(server.target, { name: 'first' })] });
    const second = await createTestApp({ clients: [echoClient(server.target, { name: 'second' })] });
    try {
      await lastValueFrom(first.get(MeshClientRegistry).get('first').unary('Unary', {}));
      await lastValueFrom(second.get(MeshClientRegistry).get('second').unary('Unary', {}));
      const text = await register.metrics();
      expect(text).toMatch(/grpc_client_started_total\{[^}]*mesh_client="first"[^}]*\} 1/);
      expect(text).toMatch(/grpc_client_started_total\{[^}]*mesh_client="second"[^}]*\} 1/);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
