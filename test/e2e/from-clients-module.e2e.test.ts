import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Inject, Injectable, Module, type DynamicModule } from '@nestjs/common';
import { Transport, type ClientGrpc, type ClientOptions } from '@nestjs/microservices';
import { Test, type TestingModule } from '@nestjs/testing';
import { lastValueFrom, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MeshClientModule,
  MeshClientRegistry,
  isMeshConfigError,
  type ClientsModuleGrpcOptionsFactory,
  type ClientsModuleGrpcProvider,
  type MeshTlsOptions,
} from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { CLIENT_ID, createTestPki, serverCredentials, writeAtomic, type TestPki } from '../support/pki.js';
import { ECHO_PROTO, type EchoReply, type EchoRequest } from '../support/protos.js';
import { eventually } from '../support/wait.js';

/** Starts `module` with NODE_ENV=production (mTLS required by default); the started app, or what start failed with. */
async function startInProduction(module: DynamicModule, extra: unknown[] = []): Promise<TestingModule | Error> {
  const previous = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    const app = await Test.createTestingModule({ imports: [module, ...(extra as [])] }).compile();
    return await app.init();
  } catch (error) {
    return error as Error;
  } finally {
    process.env.NODE_ENV = previous;
  }
}

/** One unary call of the client registered under `name`, through the ClientGrpc-style getService(). */
function echoVia(app: TestingModule, name: string, message: string): Promise<EchoReply> {
  const client = app.get<ClientGrpc>(name);
  return lastValueFrom(client.getService<{ unary(req: EchoRequest): Observable<EchoReply> }>('Echo').unary({ message }));
}

describe('fromClientsModule with TLS: a migrated app starts in production over mTLS', () => {
  let pki: TestPki;
  let server: EchoServer;
  let tls: MeshTlsOptions;
  const options = () => ({ url: server.target, package: 'mesh.test', protoPath: ECHO_PROTO });

  beforeAll(async () => {
    pki = await createTestPki();
    server = await startEchoServer({ credentials: serverCredentials(pki) });
    tls = { ...pki.files, serverName: 'localhost' };
  });
  afterAll(() => server.stop());

  it.each([
    ['on the entry', () => MeshClientModule.fromClientsModule([{ name: 'ECHO', transport: Transport.GRPC, options: options(), tls }])],
    ['in options.tls', () => MeshClientModule.fromClientsModule([{ name: 'ECHO', transport: Transport.GRPC, options: { ...options(), tls } }])],
    [
      'in the defaults',
      () => MeshClientModule.fromClientsModule([{ name: 'ECHO', transport: Transport.GRPC, options: options() }], { defaults: { tls } }),
    ],
  ])('tls %s: calls go over mutual TLS (the server sees the client certificate)', async (_where, module) => {
    const app = await startInProduction(module());
    if (app instanceof Error) throw app;
    try {
      expect(await echoVia(app, 'ECHO', 'over mTLS')).toMatchObject({ message: 'over mTLS' });
      expect(server.lastPeerSan).toBe(`URI:${CLIENT_ID}`);
    } finally {
      await app.close();
    }
  });

  it('without tls, production start fails saying where to put it; tls is checked as in forRoot', async () => {
    const plain = await startInProduction(MeshClientModule.fromClientsModule([{ name: 'ECHO', transport: Transport.GRPC, options: options() }]));
    expect(isMeshConfigError(plain) && plain.message).toMatch(
      /clients\[0\]\.insecure: mutual TLS is required .*\(fromClientsModule: tls on the entry, or defaults\.tls in its second argument\) \(client 'ECHO'\)$/,
    );
    const badKey = { ...tls, key: (await pki.newClient()).key };
    const mismatch = await startInProduction(MeshClientModule.fromClientsModule([{ name: 'ECHO', options: options(), tls: badKey }]));
    expect(isMeshConfigError(mismatch) && mismatch.message).toMatch(/clients\[0\]\.tls\.key does not belong to tls\.cert.* \(client 'ECHO'\)$/);
    for (const [entry, message] of [
      [{ name: 'ECHO', options: { ...options(), tls }, tls }, /client 'ECHO' tls is given twice/],
      [
        { name: 'ECHO', options: { ...options(), credentials: { _isSecure: () => false } }, tls },
        /options\.credentials are insecure while the entry gives tls/,
      ],
    ] as const) {
      const error = await startInProduction(MeshClientModule.fromClientsModule([entry]));
      expect(isMeshConfigError(error) && error.message).toMatch(message);
    }
  });

  it('tls.watch reloads rotated files, as in forRoot', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mesh-migrated-'));
    const files = { ca: join(dir, 'ca.pem'), cert: join(dir, 'client.pem'), key: join(dir, 'client.key') };
    writeAtomic(files.ca, pki.ca.cert);
    writeAtomic(files.cert, pki.client.cert);
    writeAtomic(files.key, pki.client.key);
    const app = await startInProduction(
      MeshClientModule.fromClientsModule([{ name: 'ECHO', options: options() }], {
        defaults: { tls: { ...files, serverName: 'localhost', watch: true } },
      }),
    );
    if (app instanceof Error) throw app;
    try {
      await echoVia(app, 'ECHO', 'before');
      expect(server.peerSerials.at(-1)).toBe(pki.client.serial);
      const next = await pki.newClient();
      writeAtomic(files.key, next.key);
      writeAtomic(files.cert, next.cert);
      const rotated = await eventually(async () => {
        await echoVia(app, 'ECHO', 'after');
        return server.peerSerials.at(-1) === next.serial;
      }, 5000);
      expect(rotated).toBe(true);
    } finally {
      await app.close();
    }
  });
});

describe("fromClientsModule takes Nest's ClientOptions", () => {
  let server: EchoServer;
  beforeAll(async () => {
    server = await startEchoServer();
  });
  afterAll(() => server.stop());

  it('spread into an entry, as ClientsModule.register takes it (Nest sample style)', async () => {
    const grpcClientOptions: ClientOptions = {
      transport: Transport.GRPC,
      options: { url: server.target, package: 'mesh.test', protoPath: ECHO_PROTO },
    };
    const app = await Test.createTestingModule({ imports: [MeshClientModule.fromClientsModule([{ name: 'ECHO', ...grpcClientOptions }])] }).compile();
    await app.init();
    expect(await echoVia(app, 'ECHO', 'spread')).toMatchObject({ message: 'spread' });
    await app.close();
  });

  it('another transport compiles (the union allows it) and fails start naming it', async () => {
    const mqtt: ClientOptions = { transport: Transport.MQTT, options: { url: 'mqtt://127.0.0.1:1883' } };
    const error = await Test.createTestingModule({ imports: [MeshClientModule.fromClientsModule([{ name: 'EVENTS', ...mqtt }])] })
      .compile()
      .catch((e: unknown) => e);
    expect(isMeshConfigError(error) && error.message).toBe(
      "MeshClientModule.fromClientsModule: client 'EVENTS' transport is Transport.MQTT: a mesh client speaks gRPC only; give Transport.GRPC, or keep this entry in ClientsModule.register",
    );
  });
});

/** Where a config module would keep the backend's address and certificates. */
class EchoConfig {
  constructor(
    readonly target: string,
    readonly tls: MeshTlsOptions,
  ) {}
}
@Module({})
class EchoConfigModule {}
/** A config module holding `config` (as ConfigModule.forRoot() would read it from the environment). */
const configModule = (config: EchoConfig): DynamicModule => ({
  module: EchoConfigModule,
  providers: [{ provide: EchoConfig, useValue: config }],
  exports: [EchoConfig],
});

/** A `useClass` / `useExisting` factory, as ClientsModuleOptionsFactory classes are written. */
@Injectable()
class EchoClientOptions implements ClientsModuleGrpcOptionsFactory {
  constructor(@Inject(EchoConfig) private readonly config: EchoConfig) {}
  createClientOptions(): ClientsModuleGrpcProvider {
    return { transport: Transport.GRPC, options: { url: this.config.target, package: 'mesh.test', protoPath: ECHO_PROTO }, tls: this.config.tls };
  }
}
@Module({})
class EchoClientOptionsModule {}

describe('fromClientsModuleAsync: the ClientsModule.registerAsync shape, with TLS', () => {
  let pki: TestPki;
  let server: EchoServer;
  let config: EchoConfig;

  beforeAll(async () => {
    pki = await createTestPki();
    server = await startEchoServer({ credentials: serverCredentials(pki) });
    config = new EchoConfig(server.target, { ...pki.files, serverName: 'localhost' });
  });
  afterAll(() => server.stop());

  it('useFactory (inject, imports), useClass and useExisting: each client starts in production over mTLS, injectable by name', async () => {
    const existing: DynamicModule = {
      module: EchoClientOptionsModule,
      imports: [configModule(config)],
      providers: [EchoClientOptions],
      exports: [EchoClientOptions],
    };
    const module = MeshClientModule.fromClientsModuleAsync([
      {
        name: 'BY_FACTORY',
        imports: [configModule(config)],
        inject: [EchoConfig],
        useFactory: (c: EchoConfig) => ({
          transport: Transport.GRPC,
          options: { url: c.target, package: 'mesh.test', protoPath: ECHO_PROTO },
          tls: c.tls,
        }),
      },
      { name: 'BY_CLASS', imports: [configModule(config)], useClass: EchoClientOptions },
      { name: 'BY_EXISTING', imports: [existing], useExisting: EchoClientOptions },
    ]);
    const app = await startInProduction(module);
    if (app instanceof Error) throw app;
    try {
      expect(app.get(MeshClientRegistry).names()).toEqual(['BY_FACTORY', 'BY_CLASS', 'BY_EXISTING']);
      for (const name of ['BY_FACTORY', 'BY_CLASS', 'BY_EXISTING']) {
        expect(await echoVia(app, name, name)).toMatchObject({ message: name });
        expect(server.lastPeerSan).toBe(`URI:${CLIENT_ID}`);
      }
    } finally {
      await app.close();
    }
  });

  it('defaults (tls) beside the entries; a factory that gives no options fails start naming the entry', async () => {
    const module = MeshClientModule.fromClientsModuleAsync(
      [
        {
          name: 'ECHO',
          inject: [EchoConfig],
          imports: [configModule(config)],
          useFactory: (c: EchoConfig) => ({ options: { url: c.target, package: 'mesh.test', protoPath: ECHO_PROTO } }),
        },
      ],
      { defaults: { tls: config.tls, timeoutMs: 2_000 } },
    );
    const app = await startInProduction(module);
    if (app instanceof Error) throw app;
    expect(await echoVia(app, 'ECHO', 'defaults')).toMatchObject({ message: 'defaults' });
    await app.close();
    const missing = await startInProduction(MeshClientModule.fromClientsModuleAsync([{ name: 'ECHO', useFactory: () => undefined as never }]));
    expect(isMeshConfigError(missing) && missing.message).toBe(
      "MeshClientModule.fromClientsModuleAsync: entry 'ECHO' useFactory returned undefined, not the client's options",
    );
    const none = await startInProduction(MeshClientModule.fromClientsModuleAsync([{ name: 'ECHO' }]));
    expect(isMeshConfigError(none) && none.message).toMatch(/entry 'ECHO' needs useFactory \(with inject\), useClass or useExisting/);
  });
});
