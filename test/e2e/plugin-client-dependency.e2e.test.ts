import { Global, Inject, Injectable, Module } from '@nestjs/common';
import { Transport } from '@nestjs/microservices';
import { ModuleRef } from '@nestjs/core';
import { Test, type TestingModule } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InjectMeshClient,
  MeshClientModule,
  MeshClientRegistry,
  MeshHealthIndicator,
  isMeshConfigError,
  type MeshAttempt,
  type MeshClient,
  type MeshClientPlugin,
  type MeshModuleOptions,
} from '@datapunk/mesh-client';
import { settlePromise, summary, type Settled } from '../support/call-guards.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { ECHO_PROTO } from '../support/protos.js';
import { echoClient } from '../support/test-app.js';

// Found by a hostile run at a1ad687: a plugin class that injects a mesh client (a token exchange
// through an auth service, say) waited for the registry, which waited for the plugin: start-up
// never settled, with no word (pluginInitTimeoutMs bounded onModuleInit only).

@Injectable()
class NeedsRegistry implements MeshClientPlugin {
  readonly name = 'needs-registry';
  constructor(readonly registry: MeshClientRegistry) {}
}

@Injectable()
class NeedsAuthClient implements MeshClientPlugin {
  readonly name = 'needs-auth';
  constructor(@InjectMeshClient('auth') readonly auth: MeshClient) {}
}

@Injectable()
class NeedsHealth implements MeshClientPlugin {
  readonly name = 'needs-health';
  constructor(readonly health: MeshHealthIndicator) {}
}

/** As a controller migrated from ClientsModule injects it: the bare name fromClientsModule provides too. */
@Injectable()
class NeedsAuthAlias implements MeshClientPlugin {
  readonly name = 'needs-auth-alias';
  constructor(@Inject('AUTH_PACKAGE') readonly auth: unknown) {}
}

/** A service of the app's that calls through a mesh client: a plugin depending on it depends on the clients too. */
@Injectable()
class AuthService {
  constructor(@InjectMeshClient('auth') readonly auth: MeshClient) {}
}

@Global()
@Module({ providers: [AuthService], exports: [AuthService] })
class AuthModule {}

@Injectable()
class NeedsAuthService implements MeshClientPlugin {
  readonly name = 'needs-auth-service';
  constructor(readonly service: AuthService) {}
}

/** The way the error points to: the client looked up when a call needs it. */
@Injectable()
class LooksUpAuthClient implements MeshClientPlugin {
  readonly name = 'looks-up-auth';
  exchanged = 0;
  constructor(private readonly moduleRef: ModuleRef) {}

  async beforeAttempt(attempt: MeshAttempt): Promise<void> {
    if (attempt.call.method.client !== 'echo') return;
    const auth = this.moduleRef.get(MeshClientRegistry).get('auth');
    const reply = await lastValueFrom(auth.unary('Unary', { message: 'exchange' }));
    this.exchanged++;
    attempt.metadata.set('x-exchanged', String((reply as { message: string }).message));
  }
}

describe('a plugin class that depends on a mesh client', () => {
  let server: EchoServer;
  beforeAll(async () => {
    server = await startEchoServer();
  });
  afterAll(async () => server.stop());

  const authEntries = () => [
    { name: 'AUTH_PACKAGE', transport: Transport.GRPC, options: { url: server.target, package: 'mesh.test', protoPath: ECHO_PROTO } } as const,
  ];
  const clients = (): MeshModuleOptions['clients'] => [echoClient(server.target), echoClient(server.target, { name: 'auth' })];

  /** How start-up with `options` ends (watchdog `ms`), closing what it built. */
  function startUp(options: Parameters<typeof MeshClientModule.forRoot>[0], ms: number, extraImports: unknown[] = []): Promise<Settled<void>> {
    return startUpWith([MeshClientModule.forRoot(options), ...extraImports], ms);
  }

  async function startUpWith(imports: unknown[], ms: number): Promise<Settled<void>> {
    let moduleRef: TestingModule | undefined;
    const start = async (): Promise<void> => {
      moduleRef = await Test.createTestingModule({ imports: imports as [] }).compile();
      await moduleRef.init();
    };
    try {
      return await settlePromise(start(), ms);
    } finally {
      if (moduleRef) await settlePromise(moduleRef.close(), 5000);
    }
  }

  it.each([
    [NeedsRegistry, 'MeshClientRegistry'],
    [NeedsAuthClient, "mesh client 'auth'"],
    [NeedsHealth, 'MeshHealthIndicator'],
  ])('%o, directly: start-up fails at once naming the class and the dependency', async (plugin, needs) => {
    const started = await startUp({ plugins: [plugin], clients: clients() }, 10_000);
    expect(summary(started).kind).toBe('error');
    expect(started.ms).toBeLessThan(2000);
    const error = (started as { error: unknown }).error;
    expect(isMeshConfigError(error)).toBe(true);
    expect((error as Error).message).toContain(
      `plugin class ${plugin.name} injects ${needs}, which is built from the clients the plugin is part of: start-up would wait for ever. Inject ModuleRef instead`,
    );
  });

  // (was refused only once pluginInitTimeoutMs had passed: the factory knew the client tokens, not the aliases)
  it.each([
    ['fromClientsModule', () => MeshClientModule.fromClientsModule(authEntries(), { plugins: [NeedsAuthAlias], pluginInitTimeoutMs: 8000 })],
    [
      'fromClientsModuleAsync',
      () =>
        MeshClientModule.fromClientsModuleAsync(
          authEntries().map(({ name, ...entry }) => ({ name, useFactory: () => entry })),
          { plugins: [NeedsAuthAlias], pluginInitTimeoutMs: 8000 },
        ),
    ],
  ])("through the client's bare name %s provides: start-up fails at once naming it", async (_how, module) => {
    const started = await startUpWith([module()], 10_000);
    expect(summary(started).kind).toBe('error');
    expect(started.ms).toBeLessThan(2000);
    const error = (started as { error: unknown }).error;
    expect(isMeshConfigError(error)).toBe(true);
    expect((error as Error).message).toContain(`plugin class NeedsAuthAlias injects mesh client 'AUTH_PACKAGE', which is built from the clients`);
  });

  it('through a provider of its own: start-up fails after pluginInitTimeoutMs naming the class', async () => {
    const started = await startUp({ global: true, pluginInitTimeoutMs: 300, plugins: [NeedsAuthService], clients: clients() }, 10_000, [AuthModule]);
    expect(summary(started).kind).toBe('error');
    expect(started.ms).toBeLessThan(3000);
    const error = (started as { error: unknown }).error;
    expect(isMeshConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('plugin class NeedsAuthService was not built within 300 ms (pluginInitTimeoutMs)');
  });

  it('a client of another MeshClientModule (global) is no such dependency: the plugin is built with it', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        MeshClientModule.forRoot({ global: true, clients: [echoClient(server.target, { name: 'auth' })] }),
        MeshClientModule.forRoot({ plugins: [NeedsAuthClient], clients: [echoClient(server.target)] }),
      ],
    }).compile();
    await moduleRef.init();
    try {
      const plugin = moduleRef.get(NeedsAuthClient, { strict: false });
      expect(await lastValueFrom(plugin.auth.unary('Unary', { message: 'from the plugin' }))).toMatchObject({ message: 'from the plugin' });
    } finally {
      await moduleRef.close();
    }
  });

  it('looking the client up through ModuleRef when a call needs it works', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [MeshClientModule.forRoot({ plugins: [LooksUpAuthClient], clients: clients() })],
    }).compile();
    await moduleRef.init();
    try {
      const echo = moduleRef.get(MeshClientRegistry).get('echo');
      await lastValueFrom(echo.unary('Unary', { message: 'hi' }));
      expect(moduleRef.get(LooksUpAuthClient).exchanged).toBe(1);
      expect(server.metadataSeen.at(-1)?.get('x-exchanged')).toEqual(['exchange']);
    } finally {
      await moduleRef.close();
    }
  });
});
