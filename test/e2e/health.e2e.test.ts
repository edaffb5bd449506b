import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { HealthCheck, HealthCheckService, TerminusModule } from '@nestjs/terminus';
import { Server, ServerCredentials, status, type sendUnaryData } from '@grpc/grpc-js';
import { HealthImplementation, service as healthService } from 'grpc-health-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientModule, MeshClientRegistry, MeshHealthIndicator, isMeshConfigError, type MeshClient } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { createTestApp, echoClient } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

@Controller()
class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly mesh: MeshHealthIndicator,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check([() => this.mesh.isHealthy('echo', { client: 'echo', timeoutMs: 500 })]);
  }
}

describe('gRPC health protocol and the Terminus indicator', () => {
  const health = new HealthImplementation({ '': 'SERVING', 'mesh.test.Echo': 'SERVING' });
  let server: EchoServer;
  let app: INestApplication;
  let echo: MeshClient;

  beforeAll(async () => {
    server = await startEchoServer({ health });
    @Module({
      imports: [TerminusModule, MeshClientModule.forRoot({ clients: [echoClient(server.target, { breaker: { consecutiveFailures: 1 } })] })],
      controllers: [HealthController],
    })
    class HealthApp {}
    app = await NestFactory.create(HealthApp, { logger: false });
    await app.listen(0, '127.0.0.1');
    echo = app.get(MeshClientRegistry).get('echo');
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  const get = async () => {
    const res = await fetch(`${await app.getUrl()}/health`);
    return { code: res.status, body: (await res.json()) as { status: string; info?: Record<string, unknown>; error?: Record<string, unknown> } };
  };

  it('Check: SERVING, NOT_SERVING, SERVICE_UNKNOWN', async () => {
    expect(await echo.checkHealth()).toBe('SERVING');
    expect(await echo.checkHealth('mesh.test.Echo')).toBe('SERVING');
    health.setStatus('mesh.test.Echo', 'NOT_SERVING');
    expect(await echo.checkHealth('mesh.test.Echo')).toBe('NOT_SERVING');
    health.setStatus('mesh.test.Echo', 'SERVING');
    expect(await echo.checkHealth('no.such.Service')).toBe('SERVICE_UNKNOWN');
  });

  it('isHealthy without options.client (a JavaScript caller): a MeshConfigError saying what to give, not a TypeError', async () => {
    const indicator = app.get(MeshHealthIndicator);
    for (const options of [undefined, {}, { client: 7 }]) {
      const error = await indicator.isHealthy('echo', options as never).catch((e: unknown) => e);
      expect(isMeshConfigError(error)).toBe(true);
      expect((error as Error).message).toContain("options.client must name a client, e.g. { client: 'inventory' }");
    }
  });

  it('the Terminus /health endpoint: up while SERVING, down when NOT_SERVING, with details', async () => {
    const up = await get();
    expect(up.code).toBe(200);
    expect(up.body.info?.echo).toMatchObject({ status: 'up', servingStatus: 'SERVING', breaker: 'closed' });
    expect(typeof (up.body.info?.echo as { latencyMs: unknown }).latencyMs).toBe('number');
    health.setStatus('', 'NOT_SERVING');
    const down = await get();
    expect(down.code).toBe(503);
    expect(down.body.error?.echo).toMatchObject({ status: 'down', servingStatus: 'NOT_SERVING' });
    health.setStatus('', 'SERVING');
  });

  it('Watch emits changes only: SERVING -> NOT_SERVING -> SERVING', async () => {
    const seen: string[] = [];
    const watching = echo.watchHealth('mesh.test.Echo').subscribe((s) => seen.push(s));
    try {
      expect(await eventually(() => seen.length === 1, 2000)).toBe(true);
      health.setStatus('mesh.test.Echo', 'SERVING'); // no change: not emitted
      health.setStatus('mesh.test.Echo', 'NOT_SERVING');
      expect(await eventually(() => seen.length === 2, 2000)).toBe(true);
      health.setStatus('mesh.test.Echo', 'SERVING');
      expect(await eventually(() => seen.length === 3, 2000)).toBe(true);
      expect(seen).toEqual(['SERVING', 'NOT_SERVING', 'SERVING']);
    } finally {
      watching.unsubscribe();
    }
  });

  it('a server that stops answering is down within timeoutMs; health calls never count in the breaker', async () => {
    const proxy = await new TcpProxy(server.port).start();
    proxy.blackhole = true;
    const hole = await createTestApp({ clients: [echoClient(proxy.target, { breaker: { consecutiveFailures: 1 } })] });
    const client = hole.get(MeshClientRegistry).get('echo');
    try {
      const started = performance.now();
      const error = await client.checkHealth('', { timeoutMs: 300 }).catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      expect(error).toMatchObject({ category: 'timeout' });
      expect(elapsed).toBeGreaterThanOrEqual(290);
      expect(elapsed).toBeLessThan(800);
      expect(client.breakerState()).toBe('closed');
    } finally {
      await hole.close();
      await proxy.stop();
    }
  });

  it('a health service that fails the check: down with the code it answered (INTERNAL), not UNREACHABLE; a closed client: UNREACHABLE', async () => {
    let hang = false;
    const failing = new Server();
    failing.addService(healthService, {
      Check: (_call: unknown, cb: sendUnaryData<unknown>) => void (hang || cb({ code: status.INTERNAL, details: 'health store down' })),
      Watch: () => undefined,
      List: (_call: unknown, cb: sendUnaryData<unknown>) => cb({ code: status.UNIMPLEMENTED }),
    });
    const port = await new Promise<number>((resolve, reject) =>
      failing.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    const checker = await createTestApp({ clients: [echoClient(`127.0.0.1:${String(port)}`)] });
    try {
      const indicator = checker.get(MeshHealthIndicator);
      const result = await indicator.isHealthy('echo', { client: 'echo', timeoutMs: 2000 });
      expect(result.echo).toMatchObject({ status: 'down', servingStatus: 'INTERNAL', error: 'internal' });
      // a check stopped here (the client closing under it) was answered by no server
      hang = true;
      const pending = indicator.isHealthy('echo', { client: 'echo', timeoutMs: 5000 });
      setTimeout(() => void checker.get(MeshClientRegistry).get('echo').close(), 100);
      expect((await pending).echo).toMatchObject({ status: 'down', servingStatus: 'UNREACHABLE', error: 'cancelled' });
      const closed = await indicator.isHealthy('echo', { client: 'echo', timeoutMs: 2000 });
      expect(closed.echo).toMatchObject({ status: 'down', servingStatus: 'UNREACHABLE', error: 'unavailable' });
    } finally {
      await checker.close();
      failing.forceShutdown();
    }
  });

  it('a server without the health service: down as UNIMPLEMENTED (it answered), not UNREACHABLE', async () => {
    const bare = await startEchoServer();
    const checker = await createTestApp({ clients: [echoClient(bare.target)] });
    try {
      const result = await checker.get(MeshHealthIndicator).isHealthy('echo', { client: 'echo', timeoutMs: 2000 });
      expect(result.echo).toMatchObject({ status: 'down', servingStatus: 'UNIMPLEMENTED', error: 'unimplemented', breaker: 'closed' });
      // the server itself is fine: calls go through
      const reply = await checker.get(MeshClientRegistry).get('echo').request('Unary', { message: 'still here' });
      expect(reply).toMatchObject({ message: 'still here' });
    } finally {
      await checker.close();
      await bare.stop();
    }
  });

  it('server stopped: down (unreachable) within timeoutMs', async () => {
    await server.stop();
    const started = performance.now();
    const down = await get();
    expect(performance.now() - started).toBeLessThan(1500);
    expect(down.code).toBe(503);
    expect(down.body.error?.echo).toMatchObject({ status: 'down' });
    expect(['UNREACHABLE', 'TIMEOUT']).toContain((down.body.error?.echo as { servingStatus: string }).servingStatus);
  });

  it("Watch moves to the new target with update({ target }): the new server's status, the old one no longer asked", async () => {
    const first = await startEchoServer({ health: new HealthImplementation({ '': 'SERVING' }) });
    const second = await startEchoServer({ health: new HealthImplementation({ '': 'NOT_SERVING' }) });
    const watcher = await createTestApp({ clients: [echoClient(first.target)] });
    const client = watcher.get(MeshClientRegistry).get('echo');
    const seen: string[] = [];
    const sub = client.watchHealth().subscribe((s) => seen.push(s));
    try {
      expect(await eventually(() => seen.length >= 1, 5000)).toBe(true);
      client.update({ target: second.target });
      expect(await eventually(() => seen.length >= 2, 3000)).toBe(true);
      expect(seen).toEqual(['SERVING', 'NOT_SERVING']);
    } finally {
      sub.unsubscribe();
      await watcher.close();
      await first.stop();
      await second.stop();
    }
  });

  it('Watch reconnects with backoff: UNKNOWN while the server is gone, SERVING once it is back', async () => {
    const first = await startEchoServer({ health: new HealthImplementation({ '': 'SERVING' }) });
    const watcher = await createTestApp({ clients: [echoClient(first.target)] });
    const seen: string[] = [];
    const sub = watcher
      .get(MeshClientRegistry)
      .get('echo')
      .watchHealth()
      .subscribe((s) => seen.push(s));
    const until = (n: number) => eventually(() => seen.length >= n, 5000);
    try {
      await until(1);
      await first.stop();
      await until(2);
      const second = await startEchoServer({ health: new HealthImplementation({ '': 'SERVING' }), port: first.port });
      await until(3);
      await second.stop();
      expect(seen.slice(0, 3)).toEqual(['SERVING', 'UNKNOWN', 'SERVING']);
    } finally {
      sub.unsubscribe();
      await watcher.close();
    }
  });
});
