import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Injectable } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { Server, ServerCredentials } from '@grpc/grpc-js';
import { HealthImplementation, service as healthService } from 'grpc-health-check';
import { describe, expect, it } from 'vitest';
import {
  MeshClientModule,
  MeshClientRegistry,
  isMeshConfigError,
  type MeshClient,
  type MeshClientPlugin,
  type MeshModuleOptions,
} from '@datapunk/mesh-client';
import { messagesOf, settlePromise, summary, useUncaughtCollector, type Settled } from '../support/call-guards.js';
import { startEchoServer } from '../support/echo-server.js';
import { LogCapture } from '../support/log-capture.js';
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

describe('a health Check in flight at app.close()', () => {
  it("ends with 'cancelled' at once, not at its own deadline", async () => {
    // a server whose health Check never answers
    const server = new Server();
    server.addService(healthService, { check: () => undefined, watch: () => undefined });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
    );
    try {
      const app = await createTestApp({ clients: [echoClient(`127.0.0.1:${String(port)}`)] });
      const checking = settlePromise(app.get(MeshClientRegistry).get('echo').checkHealth('', { timeoutMs: 20_000 }), 25_000);
      await new Promise((resolve) => setTimeout(resolve, 200)); // on the wire
      const closing = Date.now();
      await app.close();
      const settled = await checking;
      expect(summary(settled)).toMatchObject({ kind: 'error', category: 'cancelled' });
      expect(Date.now() - closing).toBeLessThan(3000);
      expect(messagesOf(uncaught.errors)).toEqual([]);
    } finally {
      server.forceShutdown();
    }
  });
});

describe('update() after app.close()', () => {
  it('throws MeshConfigError naming the client, and opens no connection to the new target', async () => {
    const server = await startEchoServer();
    // the new target: a TCP server that only counts who connects
    const sockets: Socket[] = [];
    const listener = createServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve));
    const newTarget = `127.0.0.1:${String((listener.address() as AddressInfo).port)}`;
    try {
      const app = await createTestApp({ clients: [echoClient(server.target)] });
      const echo = app.get(MeshClientRegistry).get('echo');
      await app.close();
      let thrown: unknown;
      try {
        echo.update({ target: newTarget });
      } catch (error) {
        thrown = error;
      }
      expect(isMeshConfigError(thrown)).toBe(true);
      expect((thrown as Error).message).toContain("client 'echo' is closed");
      // what a caller of the raw grpc-js client would do next: its channel is shut down, nothing dials
      const raw = await new Promise<unknown>((resolve) => {
        try {
          const client = echo.getClientByServiceName('Echo') as unknown as { Unary(r: object, cb: (e: unknown) => void): void };
          client.Unary({}, (error) => resolve(error));
        } catch (error) {
          resolve(error);
        }
      });
      expect(raw).toBeInstanceOf(Error);
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(sockets).toHaveLength(0);
      expect(messagesOf(uncaught.errors)).toEqual([]);
    } finally {
      for (const socket of sockets) socket.destroy();
      listener.close();
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

/** What every instance of the lifecycle plugin below saw, in order. */
const lifecycleEvents: string[] = [];
/** The client the plugin checks at its onModuleDestroy (set once the app is up). */
let watched: MeshClient | undefined;

/** A plugin class Nest builds that holds a timer between its hooks, as a reporter or a cache would. */
@Injectable()
class TimerPlugin implements MeshClientPlugin {
  readonly name = 'timer';
  private timer: NodeJS.Timeout | undefined;

  onModuleInit(): void {
    lifecycleEvents.push('init');
    this.timer = setInterval(() => undefined, 1000);
  }

  async onModuleDestroy(): Promise<void> {
    clearInterval(this.timer);
    const refused = await settlePromise(lastValueFrom(watched!.unary('Unary', {})), 2000);
    lifecycleEvents.push(
      summary(refused).kind === 'error' && String((refused as { error: Error }).error.message).includes('is closed')
        ? 'destroy after close'
        : 'destroy before close',
    );
  }
}

describe('a plugin class built by Nest', () => {
  it.each([
    ['forRoot plugins', (target: string): MeshModuleOptions => ({ plugins: [TimerPlugin], clients: [echoClient(target)] })],
    ["a client's plugins", (target: string): MeshModuleOptions => ({ clients: [echoClient(target, { plugins: [TimerPlugin] })] })],
  ])(
    '(%s) gets onModuleInit once at start and onModuleDestroy once, after its clients closed; no timer outlives app.close()',
    async (_where, options) => {
      const server = await startEchoServer();
      try {
        lifecycleEvents.length = 0;
        const baseline = timers();
        const app = await createTestApp(options(server.target));
        watched = app.get(MeshClientRegistry).get('echo');
        expect(app.get(TimerPlugin)).toBeInstanceOf(TimerPlugin); // still the module's provider, for the app to inject
        expect(lifecycleEvents).toEqual(['init']);
        await app.close();
        expect(lifecycleEvents).toEqual(['init', 'destroy after close']);
        expect(await eventually(() => timers() <= baseline, 2000)).toBe(true);
        expect(messagesOf(uncaught.errors)).toEqual([]);
      } finally {
        await server.stop();
      }
    },
  );
});

describe('plugin lifecycles that fail', () => {
  /** A plugin object whose hooks note what ran in `events`; `failing` names the hook that throws, `hanging` the one that never settles. */
  const plugin = (name: string, events: string[], failing?: 'init' | 'destroy', hanging?: 'destroy'): MeshClientPlugin => ({
    name,
    onModuleInit: () => {
      if (failing === 'init') throw new Error(`${name} cannot start`);
      events.push(`${name} init`);
    },
    onModuleDestroy: () => {
      if (hanging === 'destroy') return new Promise<void>(() => undefined);
      if (failing === 'destroy') return Promise.reject(new Error(`${name} cannot stop`));
      events.push(`${name} destroy`);
      return undefined;
    },
  });

  /** What Nest logged as errors while `run` ran (it logs a failing shutdown hook and goes on). */
  const errorsLoggedBy = async (run: () => Promise<void>): Promise<string[]> => {
    const logs = LogCapture.install();
    try {
      await run();
    } finally {
      LogCapture.uninstall();
    }
    return logs.lines.filter((line) => line.startsWith('error '));
  };

  it("a failing onModuleDestroy does not keep the next plugins' from running; Nest logs it naming the plugin", async () => {
    const events: string[] = [];
    const app = await createTestApp({ plugins: [plugin('audit', events, 'destroy'), plugin('token', events)], clients: [echoClient('127.0.0.1:1')] });
    const errors = await errorsLoggedBy(() => app.close());
    expect(events).toEqual(['audit init', 'token init', 'token destroy']);
    expect(errors.map((line) => line.split('\n')[0])).toEqual(["error plugin 'audit' failed in onModuleDestroy: audit cannot stop"]);
  });

  it('a start that fails destroys the plugins already started, not the one that failed', async () => {
    const events: string[] = [];
    const started = await startUp(
      { plugins: [plugin('first', events), plugin('second', events, 'init')], clients: [echoClient('127.0.0.1:1')] },
      5000,
    );
    expect((started as { error: Error }).error.message).toContain("plugin 'second' failed in onModuleInit: second cannot start");
    expect(events).toEqual(['first init', 'first destroy']);
  });

  it('an onModuleDestroy that never settles holds app.close() no longer than pluginInitTimeoutMs', async () => {
    const events: string[] = [];
    const app = await createTestApp({
      pluginInitTimeoutMs: 300,
      plugins: [plugin('stuck', events, undefined, 'destroy'), plugin('after', events)],
      clients: [echoClient('127.0.0.1:1')],
    });
    const began = performance.now();
    const errors = await errorsLoggedBy(() => app.close());
    expect(performance.now() - began).toBeLessThan(1500);
    expect(errors.map((line) => line.split('\n')[0])).toEqual([
      "error plugin 'stuck' did not finish onModuleDestroy within 300 ms (pluginInitTimeoutMs)",
    ]);
    expect(events).toEqual(['stuck init', 'after init', 'after destroy']);
  });
});
