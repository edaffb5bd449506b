import { randomUUID } from 'node:crypto';
import { Controller, Get, Injectable, Module, UseGuards, type CanActivate, type ExecutionContext, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientGrpcProxy } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { ClsModule } from 'nestjs-cls';
import { register } from 'prom-client';
import { lastValueFrom, toArray, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CurrentSecurityContext,
  MeshClientModule,
  MeshClientRegistry,
  MeshContext,
  isMeshConfigError,
  type MeshModuleOptions,
  type MeshSecurityContext,
  type MeshTrustedHeader,
} from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { failureOf } from '../support/errors.js';
import { LogCapture } from '../support/log-capture.js';
import { PEERS_PROTO, PeersServer, peersProto } from '../support/peers-server.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';
import { createTestApp, dynamicModuleStartError, echoClient, moduleStartError } from '../support/test-app.js';

describe("method names as Nest's ClientGrpc gives them", () => {
  let server: PeersServer;
  beforeAll(async () => {
    server = await new PeersServer().start();
  });
  afterAll(() => server.stop());

  it("getService() has every name Nest's getService() has, and they call the RPCs", async () => {
    const proxy = new ClientGrpcProxy({ url: server.target, package: 'peers', protoPath: PEERS_PROTO });
    const nestNames = Object.keys(proxy.getService('Peers'));
    proxy.close();
    expect(nestNames).toEqual(expect.arrayContaining(['getHttpStatus', 'listThings']));
    const app = await createTestApp({ clients: [{ name: 'peers', target: server.target, proto: peersProto, insecure: true }] });
    const peers = app.get(MeshClientRegistry).get('peers');
    const svc = peers.getService<Record<string, (req: object) => Observable<{ text: string }>>>();
    for (const name of nestNames) expect(typeof svc[name]).toBe('function');
    expect((await lastValueFrom(svc.getHttpStatus!({ text: 'h' }))).text).toBe('h');
    expect(await lastValueFrom(svc.listThings!({ text: 'l' }).pipe(toArray()))).toHaveLength(2);
    expect((await lastValueFrom(peers.unary<object, { text: string }>('getHttpStatus', { text: 'u' }))).text).toBe('u');
    expect(server.seen('GetHTTPStatus').map((r) => r.text)).toEqual(['h', 'u']);
    await app.close();
  });

  it('methods takes the same names, and a typo names the nearest RPC', async () => {
    const echoServer = await startEchoServer();
    const app = await createTestApp({ clients: [echoClient(echoServer.target, { retry: false, methods: { unary: { timeoutMs: 100 } } })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    const started = Date.now();
    const error = await failureOf(lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-delay-ms': '3000' } })));
    expect(error.category).toBe('timeout');
    expect(Date.now() - started).toBeLessThan(2000);
    const typo = await failureOf(lastValueFrom(echo.unary('Unray', {})));
    expect(typo.message).toContain("did you mean 'Unary'?");
    await app.close();
    await echoServer.stop();
    const twice = await moduleStartError({ clients: [echoClient('127.0.0.1:1', { methods: { unary: {}, Unary: {} } })] });
    expect(isMeshConfigError(twice) && twice.message).toMatch(/methods\.Unary names the same RPC as methods\.unary \(Unary\)/);
  });
});

@Injectable()
class OptionsFactory {
  createMeshClientOptions(): MeshModuleOptions {
    return { clients: [echoClient('127.0.0.1:1', { name: 'made' })] };
  }
}
@Module({ providers: [OptionsFactory], exports: [OptionsFactory] })
class OptionsModule {}
@Injectable()
class NoMethodFactory {}

describe('module options edges', () => {
  it('forRoot(undefined) and forRootAsync(undefined) fail start with a MeshConfigError', async () => {
    const error = await moduleStartError(undefined);
    expect(isMeshConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('MeshClientModule.forRoot(options): options must be an object');
    const asyncError = await dynamicModuleStartError(MeshClientModule.forRootAsync(undefined as never));
    expect(isMeshConfigError(asyncError)).toBe(true);
  });

  it.each([
    ['a string', 'echo', 'got string'],
    ['an array holding a number', ['echo', 7], 'got an array holding a value that is no string'],
    ['a number', 42, 'got number'],
  ])(
    'forRootAsync with clientNames %s fails start with a MeshConfigError naming clientNames, and registers no client',
    async (_what, clientNames, got) => {
      const module = MeshClientModule.forRootAsync({
        clientNames: clientNames as never,
        useFactory: () => ({ clients: [echoClient('127.0.0.1:1')] }),
      });
      const tokens = (module.providers ?? [])
        .map((p) => (p as { provide?: unknown }).provide)
        .filter((t) => typeof t === 'string' && t.includes(':client:'));
      expect(tokens).toEqual([]);
      const error = await dynamicModuleStartError(module);
      expect(isMeshConfigError(error)).toBe(true);
      expect((error as Error).message).toContain(`clientNames must be an array of client names (strings), e.g. ['inventory'], ${got}`);
    },
  );

  it("global that is no boolean ('yes') fails start with a MeshConfigError, in forRoot and forRootAsync", async () => {
    const clients = [echoClient('127.0.0.1:1')];
    for (const module of [
      MeshClientModule.forRoot({ global: 'yes' as never, clients }),
      MeshClientModule.forRootAsync({ global: 1 as never, clientNames: ['echo'], useFactory: () => ({ clients }) }),
    ]) {
      const error = await dynamicModuleStartError(module);
      expect(isMeshConfigError(error)).toBe(true);
      expect((error as Error).message).toMatch(/MeshClientModule\.forRoot(Async)?: global must be true or false, got (string|number)/);
    }
  });

  it.each([
    ['injects', "injects is not an option; did you mean 'inject'?"],
    ['plugin', "plugin is not an option; did you mean 'plugins'?"],
    ['clients', 'clients is not an option; forRootAsync takes the clients from useFactory (their names in clientNames)'],
  ])('forRootAsync with an unknown key (%s) fails start with a MeshConfigError naming it', async (key, said) => {
    const clients = [echoClient('127.0.0.1:1')];
    const module = MeshClientModule.forRootAsync({ clientNames: ['echo'], useFactory: () => ({ clients }), [key]: [] } as never);
    const error = await dynamicModuleStartError(module);
    expect(isMeshConfigError(error)).toBe(true);
    expect((error as Error).message).toContain(`MeshClientModule.forRootAsync: ${said}; known options: clientNames, useFactory`);
  });

  it('forRootAsync takes useClass and useExisting with createMeshClientOptions() (Nest naming)', async () => {
    for (const options of [{ useClass: OptionsFactory }, { imports: [OptionsModule], useExisting: OptionsFactory }]) {
      const moduleRef = await Test.createTestingModule({ imports: [MeshClientModule.forRootAsync({ clientNames: ['made'], ...options })] }).compile();
      expect(moduleRef.get(MeshClientRegistry).names()).toEqual(['made']);
      await moduleRef.close();
    }
    const error = await dynamicModuleStartError(MeshClientModule.forRootAsync({ clientNames: ['made'], useClass: NoMethodFactory as never }));
    expect(isMeshConfigError(error) && error.message).toContain('NoMethodFactory (useClass/useExisting) has no createMeshClientOptions() method');
  });
});

describe('update() merges a breaker patch over the current policy', () => {
  it('a changed openMs keeps a configured minimumCalls', async () => {
    const server = await startEchoServer();
    const app = await createTestApp({
      clients: [echoClient(server.target, { retry: false, breaker: { minimumCalls: 4, failureRateThreshold: 0.5 } })],
    });
    const echo = app.get(MeshClientRegistry).get('echo');
    echo.update({ breaker: { openMs: 60_000 } });
    for (let i = 0; i < 4; i++) await failureOf(lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-status': '14' } })));
    expect(echo.breakerState()).toBe('open');
    await app.close();
    await server.stop();
  });
});

describe('two Nest applications in one process', () => {
  let server: EchoServer;
  beforeAll(async () => {
    register.clear();
    server = await startEchoServer();
  });
  afterAll(async () => {
    await server.stop();
    register.clear();
  });

  it("count every app's calls, also after one of them closed", async () => {
    const one = await createTestApp({ clients: [echoClient(server.target, { name: 'one' }), echoClient(server.target)] });
    const two = await createTestApp({ clients: [echoClient(server.target, { name: 'two' }), echoClient(server.target)] });
    const call = (app: typeof one, name: string) => lastValueFrom(app.get(MeshClientRegistry).get(name).unary('Unary', {}));
    for (let i = 0; i < 2; i++) await call(one, 'one');
    for (let i = 0; i < 3; i++) await call(two, 'two');
    await call(one, 'echo');
    await call(two, 'echo');
    let samples = parseMetrics(await register.metrics());
    expect(valueOf(samples, 'grpc_client_started_total', { mesh_client: 'one' })).toBe(2);
    expect(valueOf(samples, 'grpc_client_started_total', { mesh_client: 'two' })).toBe(3);
    expect(valueOf(samples, 'grpc_client_handled_total', { mesh_client: 'echo', grpc_code: 'OK' })).toBe(2);
    await one.close();
    await call(two, 'two');
    samples = parseMetrics(await register.metrics());
    expect(valueOf(samples, 'grpc_client_started_total', { mesh_client: 'two' })).toBe(4);
    expect(valueOf(samples, 'grpc_client_started_total', { mesh_client: 'one' })).toBe(2);
    await two.close();
  });
});

@Injectable()
class SubjectGuard implements CanActivate {
  constructor(private readonly context: MeshContext) {}
  canActivate(): boolean {
    this.context.set({ subject: 'alice', tenant: 'from-guard' });
    return true;
  }
}

@Controller()
class WhoController {
  @Get('who')
  @UseGuards(SubjectGuard)
  who(@CurrentSecurityContext() ctx: MeshSecurityContext): MeshSecurityContext {
    return ctx;
  }
}

describe('the security context with ClsModule mounted by the app', () => {
  let app: INestApplication;
  beforeAll(async () => {
    @Module({
      imports: [
        ClsModule.forRoot({ global: true, middleware: { mount: true } }),
        // opted in: the token and tenant of incoming requests fill the context (the default trusts neither)
        MeshClientModule.forRoot({ trustIncoming: ['requestId', 'token', 'tenant'], clients: [echoClient('127.0.0.1:1')] }),
      ],
      controllers: [WhoController],
      providers: [SubjectGuard],
    })
    class WhoModule {}
    app = await NestFactory.create(WhoModule, { logger: false });
    await app.listen(0, '127.0.0.1');
  });
  afterAll(() => app.close());

  it("keeps what a guard set: the request's headers fill the rest", async () => {
    const id = randomUUID();
    const response = await fetch(`${await app.getUrl()}/who`, {
      headers: { 'x-request-id': id, 'x-tenant-id': 'from-header', authorization: 'Bearer t0k' },
    });
    expect(await response.json()).toMatchObject({ subject: 'alice', tenant: 'from-guard', requestId: id, token: 't0k' });
  });
});

/** Records what a guard sees of the context, before any interceptor runs. */
@Injectable()
class PeekGuard implements CanActivate {
  constructor(private readonly context: MeshContext) {}
  canActivate(execution: ExecutionContext): boolean {
    execution.switchToHttp().getRequest<{ guardSaw?: unknown }>().guardSaw = this.context.get() ?? null;
    return true;
  }
}

@Controller()
class PeekController {
  @Get('peek')
  @UseGuards(PeekGuard)
  peek(@CurrentSecurityContext() ctx: MeshSecurityContext): MeshSecurityContext | undefined {
    return ctx;
  }
}

describe('the security context filled by the CLS initializer the app mounts (nestjs-cls plugin)', () => {
  const mounts = {
    middleware: { middleware: { mount: true } },
    guard: { guard: { mount: true } },
    interceptor: { interceptor: { mount: true } },
  } as const;
  const open: INestApplication[] = [];
  afterAll(() => Promise.all(open.map((a) => a.close())));

  /** An HTTP app with the CLS initializer `mount` and MeshClientModule (unless `mesh` is false). */
  async function start(mount: keyof typeof mounts | 'none', extraKeys = ['x-team'], mesh = true): Promise<string> {
    const cls = mount === 'none' ? [] : [ClsModule.forRoot({ global: true, ...mounts[mount] })];
    const trustIncoming: MeshTrustedHeader[] = ['requestId', 'token', 'tenant']; // opted in (the default trusts neither token nor tenant)
    const meshModule = mesh ? [MeshClientModule.forRoot({ clients: [echoClient('127.0.0.1:1')], contextExtraKeys: extraKeys, trustIncoming })] : [];
    @Module({ imports: [...cls, ...meshModule], controllers: mesh ? [PeekController] : [], providers: mesh ? [PeekGuard] : [] })
    class PeekModule {}
    const app = await NestFactory.create(PeekModule, { logger: LogCapture.current ?? false });
    open.push(app);
    app.use((req: { guardSaw?: unknown }, res: { setHeader(k: string, v: string): void }, next: () => void) => {
      // Lets the test read what the guard saw, in a header set as the response goes out.
      const original = (res as unknown as { end: (...a: unknown[]) => unknown }).end;
      (res as unknown as { end: (...a: unknown[]) => unknown }).end = function (this: unknown, ...args: unknown[]) {
        res.setHeader('x-guard-saw', JSON.stringify(req.guardSaw ?? null));
        return original.apply(this, args);
      };
      next();
    });
    await app.listen(0, '127.0.0.1');
    return app.getUrl();
  }

  const headers = { 'x-request-id': 'req-1', 'x-tenant-id': 'acme', authorization: 'Bearer t0k', 'x-team': 'blue' };

  it.each(['middleware', 'guard'] as const)(
    '%s: guards already see the token, tenant and extra keys; the handler gets the same context',
    async (mount) => {
      const response = await fetch(`${await start(mount)}/peek`, { headers });
      const expected = { requestId: 'req-1', tenant: 'acme', token: 't0k', extra: { 'x-team': 'blue' } };
      expect(JSON.parse(response.headers.get('x-guard-saw') ?? 'null')).toMatchObject(expected);
      expect(await response.json()).toMatchObject(expected);
    },
  );

  it.each(['interceptor', 'none'] as const)('%s: the handler gets the context (guards run before any interceptor)', async (mount) => {
    const response = await fetch(`${await start(mount)}/peek`, { headers });
    expect(await response.json()).toMatchObject({ requestId: 'req-1', tenant: 'acme', token: 't0k', extra: { 'x-team': 'blue' } });
    expect(response.headers.get('x-guard-saw')).toBe('null');
  });

  // nestjs-cls keeps one plugin host per process (the last application created) and runs its
  // hooks for every application's requests.
  it("two apps in one process: each app's guards and handlers see its own contextExtraKeys", async () => {
    const logs = LogCapture.install();
    try {
      const first = await start('middleware', ['x-team']);
      const second = await start('middleware', ['x-floor']);
      const both = { ...headers, 'x-floor': '7' };
      for (const [url, extra] of [
        [first, { 'x-team': 'blue' }],
        [second, { 'x-floor': '7' }],
      ] as const) {
        const response = await fetch(`${url}/peek`, { headers: both });
        const guardSaw = JSON.parse(response.headers.get('x-guard-saw') ?? 'null') as MeshSecurityContext;
        const handlerSaw = (await response.json()) as MeshSecurityContext;
        for (const seen of [guardSaw, handlerSaw]) {
          expect(seen).toMatchObject({ requestId: 'req-1', tenant: 'acme', token: 't0k' });
          expect(seen.extra).toEqual(extra);
        }
      }
      expect(logs.lines.filter((l) => l.includes('nestjs-cls plugin did not run'))).toEqual([]);
    } finally {
      LogCapture.uninstall();
    }
  });

  it('an app created later with nestjs-cls but without MeshClientModule: handlers still get the context, and a warning says why guards did not', async () => {
    const logs = LogCapture.install();
    try {
      const meshApp = await start('middleware');
      await start('middleware', [], false);
      for (let i = 0; i < 2; i++) {
        const response = await fetch(`${meshApp}/peek`, { headers });
        expect(await response.json()).toMatchObject({ requestId: 'req-1', tenant: 'acme', token: 't0k', extra: { 'x-team': 'blue' } });
        expect(response.headers.get('x-guard-saw')).toBe('null');
      }
      const warnings = logs.lines.filter((l) => l.startsWith('warn') && l.includes('nestjs-cls plugin did not run'));
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toContain('the last Nest application created');
    } finally {
      LogCapture.uninstall();
    }
  });
});
