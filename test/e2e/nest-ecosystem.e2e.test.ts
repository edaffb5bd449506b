import { Controller, Get, Inject, Module, Param, type INestApplication, type INestMicroservice, type OnModuleInit } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport, type ClientGrpc } from '@nestjs/microservices';
import { Metadata } from '@grpc/grpc-js';
import { ReplaySubject, lastValueFrom, map, of, toArray, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientModule, MeshClientRegistry, isMeshConfigError, type MeshClient } from '@datapunk/mesh-client';
import {
  HeroesServiceControllerMethods,
  type Hero,
  type HeroById,
  type HeroesServiceClient,
  type HeroesServiceController,
} from '../support/generated/hero.js';
import { HERO_PROTO } from '../support/protos.js';
import { createTestApp, echoClient, moduleStartError } from '../support/test-app.js';
import { startEchoServer } from '../support/echo-server.js';
import { failureOf } from '../support/errors.js';
import { Test } from '@nestjs/testing';

const HEROES: Hero[] = [
  { id: 1, name: 'John', powers: ['flight'], firstSeen: 1_700_000_000_000 },
  { id: 2, name: 'Doe', powers: [], firstSeen: 0 },
];

/** The backend: a Nest gRPC microservice implementing the ts-proto controller interface. */
@Controller()
@HeroesServiceControllerMethods()
class HeroesBackend implements HeroesServiceController {
  readonly seen: Metadata[] = [];

  findOne(request: HeroById, metadata?: Metadata): Hero {
    if (metadata) this.seen.push(metadata);
    return HEROES.find((h) => h.id === request.id)!;
  }

  findMany(request: Observable<HeroById>): Observable<Hero> {
    return request.pipe(map((r) => HEROES.find((h) => h.id === r.id)!));
  }

  listAll(): Observable<Hero> {
    return of(...HEROES);
  }
}

@Module({ controllers: [HeroesBackend] })
class BackendModule {}

async function startBackend(): Promise<{ backend: INestMicroservice; url: string }> {
  const probe = await startEchoServer();
  const url = probe.target;
  await probe.stop();
  const backend = await NestFactory.createMicroservice(BackendModule, {
    transport: Transport.GRPC,
    options: { url, package: 'hero', protoPath: HERO_PROTO },
    logger: false,
  });
  await backend.listen();
  return { backend, url };
}

describe('a ts-proto typed client (nestJs=true) against a Nest gRPC backend', () => {
  let backend: INestMicroservice;
  let url: string;
  beforeAll(async () => {
    ({ backend, url } = await startBackend());
  });
  afterAll(() => backend.close());

  it('unary, server stream, bidi and getService() with the generated types', async () => {
    const app = await createTestApp({ clients: [{ name: 'heroes', target: url, insecure: true, proto: { path: HERO_PROTO, package: 'hero' } }] });
    const heroes: MeshClient<HeroesServiceClient> = app.get(MeshClientRegistry).get<HeroesServiceClient>('heroes');
    expect(await lastValueFrom(heroes.unary('findOne', { id: 1 }))).toEqual(HEROES[0]);
    expect(await lastValueFrom(heroes.serverStream('listAll', {}).pipe(toArray()))).toEqual(HEROES);
    expect(await lastValueFrom(heroes.bidiStream('findMany', of({ id: 2 }, { id: 1 })).pipe(toArray()))).toEqual([HEROES[1], HEROES[0]]);
    const md = new Metadata();
    md.set('x-from', 'ts-proto');
    expect(await lastValueFrom(heroes.getService().findOne({ id: 2 }, md))).toEqual(HEROES[1]);
    expect(backend.get(HeroesBackend).seen.at(-1)?.get('x-from')).toEqual(['ts-proto']);
    // with the controller interface too, the call kind is checked (test/types/typed-client.types.ts) and iterate() is typed
    const kinded = app.get(MeshClientRegistry).get<HeroesServiceClient, HeroesServiceController>('heroes');
    const names: string[] = [];
    for await (const hero of kinded.iterate('listAll', {})) names.push(hero.name);
    expect(names).toEqual(['John', 'Doe']);
    await app.close();
  });
});

/** The heroes service as code written against ClientGrpc declares it (Nest's sample style). */
interface HeroesService {
  findOne(data: HeroById): Observable<Hero>;
  findMany(upstream: Observable<HeroById>): Observable<Hero>;
}

/** A gateway written against Nest's ClientGrpc, as Nest's gRPC sample is: unchanged but for the module. */
@Controller('hero')
class HeroGateway implements OnModuleInit {
  private heroesService!: HeroesService;

  constructor(@Inject('HERO_PACKAGE') private readonly client: ClientGrpc) {}

  onModuleInit(): void {
    this.heroesService = this.client.getService<HeroesService>('HeroesService');
  }

  @Get()
  getMany(): Observable<Hero[]> {
    const ids$ = new ReplaySubject<HeroById>();
    ids$.next({ id: 1 });
    ids$.next({ id: 2 });
    ids$.complete();
    return this.heroesService.findMany(ids$.asObservable()).pipe(toArray());
  }

  @Get(':id')
  getById(@Param('id') id: string): Observable<Hero> {
    return this.heroesService.findOne({ id: +id });
  }
}

describe('from ClientsModule in one line', () => {
  let backend: INestMicroservice;
  let url: string;
  let gateway: INestApplication;
  beforeAll(async () => {
    ({ backend, url } = await startBackend());
    @Module({
      // was: ClientsModule.register([{ name: 'HERO_PACKAGE', transport: Transport.GRPC, options: { url, package: 'hero', protoPath } }])
      imports: [
        MeshClientModule.fromClientsModule([
          { name: 'HERO_PACKAGE', transport: Transport.GRPC, options: { url, package: 'hero', protoPath: HERO_PROTO } },
        ]),
      ],
      controllers: [HeroGateway],
    })
    class GatewayModule {}
    gateway = await NestFactory.create(GatewayModule, { logger: false });
    await gateway.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    await gateway.close();
    await backend.close();
  });

  it('a controller written against ClientGrpc runs unchanged on a MeshClient', async () => {
    const base = await gateway.getUrl();
    expect(await (await fetch(`${base}/hero/1`)).json()).toEqual(HEROES[0]);
    expect(await (await fetch(`${base}/hero`)).json()).toEqual([HEROES[0], HEROES[1]]);
  });

  it('getClientByServiceName gives a grpc-js client on the same channel; getService of another service fails clearly', async () => {
    const client = gateway.get<ClientGrpc>('HERO_PACKAGE');
    const raw = client.getClientByServiceName<{ findOne(req: HeroById, cb: (e: Error | null, hero?: Hero) => void): void }>('HeroesService');
    const hero = await new Promise<Hero | undefined>((resolve, reject) => raw.findOne({ id: 2 }, (e, h) => (e ? reject(e) : resolve(h))));
    expect(hero).toMatchObject({ id: 2, name: 'Doe' });
    expect(() => client.getService('VillainsService')).toThrow(/client 'HERO_PACKAGE' serves hero\.HeroesService/);
  });

  it('maps every field of the ClientsModule options, or refuses it by name', async () => {
    const start = (options: Record<string, unknown>) =>
      Test.createTestingModule({
        imports: [
          MeshClientModule.fromClientsModule([
            { name: 'H', transport: Transport.GRPC, options: { url, package: 'hero', protoPath: HERO_PROTO, ...options } },
          ]),
        ],
      })
        .compile()
        .then(
          async (m) => {
            await m.init();
            return m;
          },
          (e: unknown) => e,
        );
    type Started = { get(t: typeof MeshClientRegistry): MeshClientRegistry; close(): Promise<void> };
    const mapped = (await start({
      loader: { keepCase: true },
      keepalive: { keepaliveTimeMs: 60_000, keepaliveTimeoutMs: 5000 },
      channelOptions: { 'grpc.primary_user_agent': 'hero-test' },
      maxMetadataSize: 16_384,
    })) as Started;
    expect(await lastValueFrom(mapped.get(MeshClientRegistry).get('H').unary('findOne', { id: 1 }))).toMatchObject({ first_seen: 1_700_000_000_000 });
    await mapped.close();
    const small = (await start({ maxSendMessageLength: 16, maxReceiveMessageLength: 16 })) as Started;
    const tooBig = await failureOf(lastValueFrom(small.get(MeshClientRegistry).get('H').unary('findOne', { id: 1 })));
    expect(tooBig.message).toContain('maxMessageBytes=16');
    await small.close();
    for (const [options, message] of [
      [{ credentials: { _isSecure: () => true } }, /options\.credentials give tls: \{ ca, cert, key \} instead/],
      [{ maxSendMessageLength: 10, maxReceiveMessageLength: 20 }, /options\.maxSendMessageLength differs from maxReceiveMessageLength/],
      [{ package: ['hero', 'villain'] }, /options\.package must name one package/],
      [{ gracefulShutdown: true }, /options\.gracefulShutdown is a server option/],
      [{ urll: 'x' }, /options\.urll is no gRPC client option of ClientsModule/],
      [
        { keepalive: { keepaliveTimeoutMs: 5000 } },
        /options\.keepalive\.keepaliveTimeoutMs without keepaliveTimeMs sends no ping \(in grpc-js either\)/,
      ],
      [
        { channelOptions: { 'grpc.max_send_message_length': 5 } },
        /channelOptions\.'grpc\.max_send_message_length' is set by the client: use maxMessageBytes/,
      ],
    ] as [Record<string, unknown>, RegExp][]) {
      const error = await start(options);
      expect(isMeshConfigError(error) && error.message).toMatch(message);
    }
  });
});

describe('one retry layer: a grpc-js service config asking for 5 attempts', () => {
  it("never multiplies with the client's retries", async () => {
    const server = await startEchoServer();
    server.outage = 14;
    const serviceConfig = {
      methodConfig: [
        {
          name: [{ service: 'mesh.test.Echo' }],
          retryPolicy: { maxAttempts: 5, initialBackoff: '0.01s', maxBackoff: '0.01s', backoffMultiplier: 1, retryableStatusCodes: ['UNAVAILABLE'] },
        },
      ],
    };
    const app = await createTestApp({
      clients: [
        echoClient(server.target, {
          breaker: false,
          retry: { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 5, budget: false },
          channelOptions: { 'grpc.service_config': JSON.stringify(serviceConfig) },
        }),
      ],
    });
    const error = await failureOf(lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {})));
    expect(error).toMatchObject({ category: 'unavailable', attempts: 3 });
    expect(server.calls).toHaveLength(3);
    await app.close();
    await server.stop();
    expect(
      isMeshConfigError(
        await moduleStartError({
          clients: [echoClient(server.target, { loadBalancing: 'round_robin', channelOptions: { 'grpc.service_config': '{}' } })],
        }),
      ),
    ).toBe(true);
  });
});
