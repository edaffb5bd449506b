import type { TestingModule } from '@nestjs/testing';
import { MeshClientRegistry, type MeshClient, type MeshClientOptions } from '@datapunk/mesh-client';
import type { MeshFake } from '@datapunk/mesh-client/testing';
import { createTestApp, echoClient } from './test-app.js';

/** A test app whose client 'echo' calls `fake` directly (plaintext; no retry or breaker unless `extra` says). */
export interface FakeClientApp {
  app: TestingModule;
  echo: MeshClient;
}

/** Builds a {@link FakeClientApp}; close it with `app.close()`. */
export async function clientOfFake(fake: MeshFake, extra: Partial<MeshClientOptions> = {}): Promise<FakeClientApp> {
  const app = await createTestApp({ clients: [echoClient(fake.target, { retry: false, breaker: false, ...extra })] });
  return { app, echo: app.get(MeshClientRegistry).get('echo') };
}
