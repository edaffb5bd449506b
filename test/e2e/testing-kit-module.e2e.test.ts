import { connect } from 'node:net';
import { Module, type DynamicModule } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { register } from 'prom-client';
import { lastValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import {
  MeshClientModule,
  MeshClientRegistry,
  isMeshConfigError,
  type MeshAttempt,
  type MeshClientOptions,
  type MeshModuleOptions,
} from '@datapunk/mesh-client';
import { MeshFake, MeshTestingModule } from '@datapunk/mesh-client/testing';
import { failureOf } from '../support/errors.js';
import { HERO_PROTO, echoProto, type EchoRequest } from '../support/protos.js';
import { parseMetrics, valueOf } from '../support/prometheus.js';

const heroProto = { path: HERO_PROTO, package: 'hero' } as const;

/** The clients as a production app configures them: TLS files that do not exist here, real targets, its own policies. */
function appOptions(extra: Partial<MeshModuleOptions> = {}): MeshModuleOptions {
  const echo: MeshClientOptions = {
    name: 'echo',
    target: 'dns:///echo.shop.svc.cluster.local:50051',
    proto: echoProto,
    tls: { ca: '/etc/mesh/ca.pem', cert: '/etc/mesh/tls.crt', key: '/etc/mesh/tls.key', expectedServerIds: ['spiffe://mesh.local/ns/shop/sa/echo'] },
    retry: { maxAttempts: 2, initialBackoffMs: 5, maxBackoffMs: 5, budget: false },
    breaker: { consecutiveFailures: 2, openMs: 60_000 },
    metadata: { 'x-caller': 'shop' },
    methods: { Unary: { timeoutMs: 1500 } },
    plugins: [{ name: 'tag', beforeAttempt: (attempt: MeshAttempt) => attempt.metadata.set('x-plugin', 'tag') }],
  };
  const heroes: MeshClientOptions = { name: 'heroes', target: '127.0.0.1:1', proto: heroProto, insecure: true, retry: false };
  return { clients: [echo, heroes], ...extra };
}

const unaryEcho: Parameters<typeof MeshFake.start>[1] = { Unary: (req: EchoRequest) => ({ message: `fake ${req.message ?? ''}` }) };

describe('MeshTestingModule.withFakes', () => {
  const open: { close(): Promise<unknown> }[] = [];
  afterEach(async () => {
    for (const item of open.splice(0).reverse()) await item.close();
  });

  async function compile(imports: (DynamicModule | (new () => unknown))[]): Promise<TestingModule> {
    const moduleRef = await Test.createTestingModule({ imports }).compile();
    open.push(moduleRef);
    await moduleRef.init();
    return moduleRef;
  }

  async function fake(handlers = unaryEcho, opts?: { tls?: boolean }, proto: Parameters<typeof MeshFake.start>[0] = echoProto): Promise<MeshFake> {
    const started = await MeshFake.start(proto, handlers, opts);
    open.push(started);
    return started;
  }

  const refused = (target: string): Promise<boolean> =>
    new Promise((resolve) => {
      const [host, port] = target.split(':');
      const socket = connect(Number(port), host!);
      socket.once('connect', () => (socket.destroy(), resolve(false)));
      socket.once('error', () => resolve(true));
    });

  it('points the named client at its fake (the app’s TLS files are never read) and keeps metadata, plugins and method deadlines', async () => {
    const echo = await fake();
    const moduleRef = await compile([MeshClientModule.forRoot(appOptions()), MeshTestingModule.withFakes({ echo })]);
    const client = moduleRef.get(MeshClientRegistry).get('echo');
    expect(await lastValueFrom(client.unary('Unary', { message: 'hi' }))).toMatchObject({ message: 'fake hi' });
    const call = echo.lastCall('Unary')!;
    expect(call.metadata).toMatchObject({ 'x-caller': 'shop', 'x-plugin': 'tag' });
    expect(call.deadlineLeftMs).toBeLessThanOrEqual(1500);
    expect(call.deadlineLeftMs).toBeGreaterThan(500);
  });

  it('keeps the app’s retry, breaker and metrics: attempts, the circuit and the series are those the app configured', async () => {
    register.clear();
    const echo = await fake();
    const moduleRef = await compile([
      PrometheusModule.register({ defaultMetrics: { enabled: false } }),
      MeshClientModule.forRoot(appOptions()),
      MeshTestingModule.withFakes({ echo }),
    ]);
    const client = moduleRef.get(MeshClientRegistry).get('echo');
    echo.failNext(1, 'UNAVAILABLE');
    expect(await lastValueFrom(client.unary('Unary', { message: 'retried' }))).toMatchObject({ message: 'fake retried' });
    echo.failNext(2, 'UNAVAILABLE');
    expect(await failureOf(lastValueFrom(client.unary('Unary', {})))).toMatchObject({ codeName: 'UNAVAILABLE', attempts: 2 });
    expect(client.breakerState()).toBe('open'); // 2 failures in a row: the app's consecutiveFailures
    const calls = echo.calls().length;
    expect(await failureOf(lastValueFrom(client.unary('Unary', {})))).toMatchObject({ category: 'circuit-open' });
    expect(echo.calls()).toHaveLength(calls);
    const samples = parseMetrics(await register.metrics());
    expect(valueOf(samples, 'mesh_client_retries_total', { mesh_client: 'echo', grpc_code: 'UNAVAILABLE' })).toBe(2);
    expect(valueOf(samples, 'grpc_client_handled_total', { mesh_client: 'echo', grpc_method: 'Unary', grpc_code: 'OK' })).toBe(1);
    register.clear();
  });

  it('leaves the clients it is not given as they are', async () => {
    const echo = await fake();
    const moduleRef = await compile([MeshClientModule.forRoot(appOptions()), MeshTestingModule.withFakes({ echo })]);
    const heroes = moduleRef.get(MeshClientRegistry).get('heroes');
    expect(await failureOf(lastValueFrom(heroes.unary('FindOne', { id: 1 }, { timeoutMs: 3000 })))).toMatchObject({ category: 'unavailable' });
  });

  it('a TLS fake: the client speaks mutual TLS with the fake’s generated certificates, whatever the app configured', async () => {
    const heroes = await fake({ FindOne: ({ id }: { id: number }) => ({ id, name: 'Ada' }) }, { tls: true }, heroProto);
    expect(heroes.tls).toMatchObject({ serverName: 'localhost', ca: expect.stringContaining('BEGIN CERTIFICATE') as string });
    const moduleRef = await compile([
      MeshClientModule.forRoot(appOptions({ requireMtls: true, defaults: { insecure: true } })),
      MeshTestingModule.withFakes({ heroes, echo: await fake(unaryEcho, { tls: true }) }),
    ]);
    expect(await lastValueFrom(moduleRef.get(MeshClientRegistry).get('heroes').unary('FindOne', { id: 7 }))).toMatchObject({ id: 7, name: 'Ada' });
    // the same fake refuses a plaintext client: it really serves TLS
    const plain = await compile([
      MeshClientModule.forRoot({ clients: [{ name: 'p', target: heroes.target, proto: heroProto, insecure: true, retry: false }] }),
    ]);
    expect(await failureOf(lastValueFrom(plain.get(MeshClientRegistry).get('p').unary('FindOne', { id: 1 }, { timeoutMs: 3000 })))).toMatchObject({
      category: 'unavailable',
    });
  });

  it('works with forRootAsync, fromClientsModule and defaults.tls the same way', async () => {
    const echo = await fake();
    // the TLS of the app's echo client comes from defaults.tls here
    const options = async (): Promise<MeshModuleOptions> => ({
      clients: [{ ...appOptions().clients[0]!, tls: undefined }],
      defaults: { tls: { ca: '/etc/mesh/ca.pem', cert: '/etc/mesh/tls.crt', key: '/etc/mesh/tls.key', watch: true } },
    });
    @Module({ imports: [MeshClientModule.forRootAsync({ clientNames: ['echo'], useFactory: options })] })
    class AsyncApp {}
    const asyncRef = await compile([AsyncApp, MeshTestingModule.withFakes({ echo })]);
    expect(await lastValueFrom(asyncRef.get(MeshClientRegistry).get('echo').unary('Unary', { message: 'async' }))).toMatchObject({
      message: 'fake async',
    });

    const hero = await fake({ FindOne: () => ({ name: 'Grace' }) }, undefined, heroProto);
    const nestRef = await compile([
      MeshClientModule.fromClientsModule([
        { name: 'HERO_PACKAGE', transport: 4, options: { url: 'heroes.svc:5000', package: 'hero', protoPath: HERO_PROTO } },
      ]),
      MeshTestingModule.withFakes({ HERO_PACKAGE: hero }),
    ]);
    expect(await lastValueFrom(nestRef.get(MeshClientRegistry).get('HERO_PACKAGE').unary('FindOne', { id: 1 }))).toMatchObject({ name: 'Grace' });
  });

  it('never changes the options object the app gave', async () => {
    const echo = await fake();
    const options = appOptions();
    const before = JSON.stringify(options);
    await compile([MeshClientModule.forRoot(options), MeshTestingModule.withFakes({ echo })]);
    expect(JSON.stringify(options)).toBe(before);
  });

  it('closes the fakes with the testing module, without waiting for calls the fakes hold', async () => {
    const echo = await MeshFake.start(echoProto, unaryEcho);
    const moduleRef = await Test.createTestingModule({
      imports: [MeshClientModule.forRoot(appOptions()), MeshTestingModule.withFakes({ echo })],
    }).compile();
    await moduleRef.init();
    echo.hang();
    const held = lastValueFrom(moduleRef.get(MeshClientRegistry).get('echo').unary('Unary', {}, { timeoutMs: 20_000 })).catch((e: unknown) => e);
    await expect.poll(() => echo.calls().length).toBe(1);
    const started = performance.now();
    await moduleRef.close();
    expect(performance.now() - started).toBeLessThan(2500); // the clients' drain (5 s) had nothing left to wait for
    expect(await held).toMatchObject({ category: expect.stringMatching(/unavailable|cancelled/) as string });
    expect(await refused(echo.target)).toBe(true);
  });
});

describe('MeshTestingModule.withFakes: mistakes fail start clearly (and close the fakes)', () => {
  const startError = async (options: MeshModuleOptions, fakes: Record<string, MeshFake>): Promise<Error> => {
    const error = await Test.createTestingModule({ imports: [MeshClientModule.forRoot(options), MeshTestingModule.withFakes(fakes)] })
      .compile()
      .then(async (m) => {
        await m.init();
        await m.close();
        return new Error('expected start to fail');
      })
      .catch((e: unknown) => e as Error);
    await Promise.all(Object.values(fakes).map((f) => f.close()));
    return error;
  };

  it('a fake for a client the app does not have names the clients it has', async () => {
    const plain = appOptions();
    plain.clients[0] = { ...plain.clients[0]!, target: '127.0.0.1:1', tls: undefined, insecure: true };
    const error = await startError(plain, { ehco: await MeshFake.start(echoProto, {}) });
    expect(isMeshConfigError(error)).toBe(true);
    expect(error.message).toBe("MeshTestingModule.withFakes: no mesh client named 'ehco' (clients: echo, heroes)");
  });

  it('a fake of another service than its client’s says which two', async () => {
    const error = await startError(appOptions(), { echo: await MeshFake.start(heroProto, {}) });
    expect(error.message).toBe(
      "MeshTestingModule.withFakes: the fake given for client 'echo' serves hero.HeroesService, but the client calls mesh.test.Echo; start the fake with the client's proto",
    );
  });

  it('a plaintext fake where the app requires mutual TLS says how to start it', async () => {
    const error = await startError(appOptions({ requireMtls: true }), { echo: await MeshFake.start(echoProto, {}) });
    expect(error.message).toMatch(
      /client 'echo' requires mutual TLS \(requireMtls.*\); start its fake with MeshFake\.start\(proto, handlers, \{ tls: true \}\)/,
    );
  });

  it('an expectedServerIds entry of the app no certificate can present fails the test app too (its own tls, or defaults.tls)', async () => {
    const own = appOptions();
    own.clients[0] = { ...own.clients[0]!, tls: { ...own.clients[0]!.tls!, expectedServerIds: ['echo.shop.svc:50051'] } };
    const error = await startError(own, { echo: await MeshFake.start(echoProto, {}, { tls: true }) });
    expect(isMeshConfigError(error)).toBe(true);
    expect(error.message).toMatch(
      /^clients\[0\]\.tls\.expectedServerIds\[0\] .*got 'echo\.shop\.svc:50051' \(client 'echo'; MeshTestingModule\.withFakes checks it/,
    );

    const viaDefaults = appOptions();
    const { tls, ...echo } = viaDefaults.clients[0]!;
    viaDefaults.clients[0] = echo as MeshClientOptions;
    viaDefaults.defaults = { tls: { ...tls!, expectedServerIds: ['spiffe://mesh.local/ns/shop/sa/echo', 'dns:///echo'] } };
    const fromDefaults = await startError(viaDefaults, { echo: await MeshFake.start(echoProto, {}) });
    expect(fromDefaults.message).toMatch(/^clients\[0\]\.tls\.expectedServerIds\[1\] .*got 'dns:\/\/\/echo'/);
  });

  it("a client whose own transport is plaintext takes none of defaults.tls's ids, as at start (no error to report)", async () => {
    const options = appOptions();
    const { tls, ...echo } = options.clients[0]!;
    options.clients[0] = { ...echo, tls: undefined } as MeshClientOptions;
    options.defaults = { insecure: true, tls: { ...tls!, expectedServerIds: ['dns:///echo'] } } as MeshModuleOptions['defaults'];
    const error = await startError(options, { echo: await MeshFake.start(echoProto, {}) });
    expect(error.message).toBe('expected start to fail');
  });

  it('something else than a MeshFake is refused at once', () => {
    expect(() => MeshTestingModule.withFakes({ echo: { target: '127.0.0.1:1' } as never })).toThrow(/fakes\.echo must be a MeshFake/);
  });
});
