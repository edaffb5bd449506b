import { Test, type TestingModule } from '@nestjs/testing';
import { HealthImplementation } from 'grpc-health-check';
import { describe, expect, it } from 'vitest';
import { MeshClientModule, MeshClientRegistry, isMeshConfigError, type MeshClientPlugin, type MeshModuleOptions } from '@datapunk/mesh-client';
import { messagesOf, settlePromise, summary, useUncaughtCollector, type Settled } from '../support/call-guards.js';
import { startEchoServer } from '../support/echo-server.js';
import { createTestApp, echoClient } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

// Issue #30 "lifecycle": on da6cde0 a watchHealth() subscription open at app.close() never ended,
// retried on the closed channel and kept the process alive; a plugin whose onModuleInit never
// resolved hung start-up.
const uncaught = useUncaughtCollector();

/** Timers alive in this process now. */
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

describe('a health Watch open at app.close()', () => {
  it("ends with 'cancelled' and leaves no timer behind", async () => {
    const server = await startEchoServer({ health: new HealthImplementation({ 'mesh.test.Echo': 'SERVING' }) });
    try {
      const baseline = timers();
      const app = await createTestApp({ clients: [echoClient(server.target)] });
      const echo = app.get(MeshClientRegistry).get('echo');
      const seen: string[] = [];
      let end: unknown;
      const watching = echo.watchHealth('mesh.test.Echo').subscribe({
        next: (status) => seen.push(status),
        error: (error: unknown) => (end = error),
        complete: () => (end = 'completed'),
      });
      try {
        expect(await eventually(() => seen.length > 0, 3000)).toBe(true);
        await app.close();
        expect(await eventually(() => end !== undefined, 3000)).toBe(true);
      } finally {
        watching.unsubscribe();
      }
      expect(end).toMatchObject({ category: 'cancelled' });
      expect(seen).toEqual(['SERVING']);
      // nothing left waiting to reconnect (vitest's own timers are in the baseline)
      expect(await eventually(() => timers() <= baseline, 2000)).toBe(true);
      expect(messagesOf(uncaught.errors)).toEqual([]);
    } finally {
      await server.stop();
    }
  });
});

/** Starts a module with `options`; resolves with how start-up ended (watchdog `ms`), closing what it built. */
async function startUp(options: MeshModuleOptions, ms: number): Promise<Settled<void>> {
  let moduleRef: TestingModule | undefined;
  // compiling builds the module's providers (the plugins start there), then init
  const start = async (): Promise<void> => {
    moduleRef = await Test.createTestingModule({ imports: [MeshClientModule.forRoot(options)] }).compile();
    await moduleRef.init();
  };
  try {
    return await settlePromise(start(), ms);
  } finally {
    if (moduleRef) await settlePromise(moduleRef.close(), 5000);
  }
}

describe('a plugin whose onModuleInit never resolves', () => {
  const stuck: MeshClientPlugin = { name: 'stuck-at-init', onModuleInit: () => new Promise<void>(() => undefined) };

  it.each([
    ['pluginInitTimeoutMs 300', 300],
    ['by default (10 s)', undefined],
  ])(
    'fails start-up (%s) with an error naming the plugin',
    async (_what, pluginInitTimeoutMs) => {
      const bound = pluginInitTimeoutMs ?? 10_000;
      const bounded = pluginInitTimeoutMs === undefined ? {} : { pluginInitTimeoutMs };
      const started = await startUp({ ...bounded, plugins: [stuck], clients: [echoClient('127.0.0.1:1')] }, bound + 3000);
      expect(summary(started)).toMatchObject({ kind: 'error' });
      expect(started.ms).toBeGreaterThanOrEqual(bound - 50);
      expect(started.ms).toBeLessThan(bound + 1500);
      const error = (started as { error: unknown }).error;
      expect(isMeshConfigError(error)).toBe(true);
      expect((error as Error).message).toContain("plugin 'stuck-at-init'");
      expect((error as Error).message).toContain('onModuleInit');
    },
    30_000,
  );
});
