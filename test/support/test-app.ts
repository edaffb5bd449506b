import type { DynamicModule } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { afterAll, beforeAll } from 'vitest';
import { MeshClientModule, MeshClientRegistry, type MeshClient, type MeshClientOptions, type MeshModuleOptions } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer, type EchoServerOptions } from './echo-server.js';
import { LogCapture } from './log-capture.js';
import { echoProto } from './protos.js';

/** Options of an insecure client of the Echo service at `target`. */
export function echoClient(target: string, extra: Partial<MeshClientOptions> = {}): MeshClientOptions {
  return { name: 'echo', target, proto: echoProto, insecure: true, ...extra };
}

/** The one helper that builds a test app: a compiled, initialised module with the given mesh options. */
export async function createTestApp(options: MeshModuleOptions, extraImports: unknown[] = []): Promise<TestingModule> {
  const builder = Test.createTestingModule({ imports: [MeshClientModule.forRoot(options), ...(extraImports as [])] });
  if (LogCapture.current) builder.setLogger(LogCapture.current);
  const moduleRef = await builder.compile();
  await moduleRef.init();
  return moduleRef;
}

/** The error the module fails to compile with for `options`, or undefined when it compiles. */
export async function moduleStartError(options: unknown): Promise<unknown> {
  return dynamicModuleStartError(MeshClientModule.forRoot(options as MeshModuleOptions));
}

/** The error a module (forRootAsync, fromClientsModule...) fails to compile with, or undefined when it compiles. */
export async function dynamicModuleStartError(module: DynamicModule): Promise<unknown> {
  return Test.createTestingModule({ imports: [module] })
    .compile()
    .then(
      async (m) => {
        await m.close();
        return undefined;
      },
      (e: unknown) => e,
    );
}

/** What `useEchoApp` hands its tests (filled in beforeAll). */
export interface EchoApp {
  server: EchoServer;
  app: TestingModule;
  echo: MeshClient;
}

/**
 * A started Echo server and a test app with one client 'echo' of it, for the tests of a describe
 * block: built in beforeAll, closed in afterAll.
 */
export function useEchoApp(client: Partial<MeshClientOptions> = {}, server?: EchoServerOptions): EchoApp {
  const fixture = {} as EchoApp;
  beforeAll(async () => {
    fixture.server = await startEchoServer(server);
    fixture.app = await createTestApp({ clients: [echoClient(fixture.server.target, client)] });
    fixture.echo = fixture.app.get(MeshClientRegistry).get('echo');
  });
  afterAll(async () => {
    await fixture.app.close();
    await fixture.server.stop();
  });
  return fixture;
}
