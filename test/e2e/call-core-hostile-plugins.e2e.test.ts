import { Metadata, Server, ServerCredentials, loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { Observable, race, retry, switchMap, timer } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoggingPlugin, MeshClientRegistry, type MeshClientPlugin } from '@datapunk/mesh-client';
import { messagesOf, settleOf, summary, useUncaughtCollector } from '../support/call-guards.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { ECHO_PROTO, loadServerProto } from '../support/protos.js';
import { createTestApp, echoClient } from '../support/test-app.js';

// What a hostile review of the new call core found (plugins and metadata functions), each a test.
const uncaught = useUncaughtCollector();
const WATCHDOG_MS = 3000;

describe('hostile plugins and metadata functions', () => {
  let server: EchoServer;
  beforeAll(async () => {
    server = await startEchoServer();
  });
  afterAll(async () => server.stop());

  it.each([
    ['retry() of every error, breaker off', { breaker: false as const }, () => retry()],
    ['retry({ count: 5 }), breaker opening after 3 failures', { breaker: { consecutiveFailures: 3 } }, () => retry({ count: 5 })],
  ])(
    'an intercept re-subscribing next.handle() on %s: the call ends as timeout by its deadline, the event loop runs, the server sees one attempt',
    async (_what, breaker, retrying) => {
      const plugin: MeshClientPlugin = { name: 'stubborn', intercept: (call, next) => next.handle(call).pipe(retrying()) };
      const app = await createTestApp({ clients: [echoClient(server.target, { timeoutMs: 300, retry: false, ...breaker, plugins: [plugin] })] });
      const echo = app.get(MeshClientRegistry).get('echo');
      try {
        const before = server.calls.length;
        let loopRan = false;
        setTimeout(() => (loopRan = true), 150);
        const settled = await settleOf(echo.unary('Unary', {}, { metadata: { 'x-test-delay-ms': '1000' } }), WATCHDOG_MS);
        expect(summary(settled)).toMatchObject({ kind: 'error', category: 'timeout' });
        expect(settled.ms).toBeLessThan(300 + 200);
        expect(loopRan).toBe(true);
        expect(server.calls.length - before).toBe(1);
        expect(echo.breakerState()).toBe('closed');
        expect(echo.inflight).toBe(0);
      } finally {
        await app.close();
      }
    },
  );

  it("a plugin whose teardown throws, a LoggingPlugin whose logger throws: the caller gets its answer, nothing reaches RxJS's unhandled path", async () => {
    const throwingTeardown: MeshClientPlugin = {
      name: 'teardown',
      intercept: (call, next) =>
        new Observable((subscriber) => {
          const inner = next.handle(call).subscribe(subscriber);
          return () => {
            inner.unsubscribe();
            throw new Error('teardown failed');
          };
        }),
    };
    const failingLogger = {
      log: () => undefined,
      error: () => undefined,
      warn: () => {
        throw new Error('logger down');
      },
    };
    const logging = new LoggingPlugin({ logger: failingLogger as never, levels: { ok: 'warn' } });
    const app = await createTestApp({ plugins: [logging, throwingTeardown], clients: [echoClient(server.target, { retry: false })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    try {
      expect(summary(await settleOf(echo.unary('Unary', { message: 'x' }), WATCHDOG_MS))).toEqual({ kind: 'complete' });
      // a failure unsubscribes the chain at once: the throwing teardown is then the plugin's own failure
      const failed = summary(await settleOf(echo.unary('Unary', {}, { metadata: { 'x-test-status': '14' } }), WATCHDOG_MS));
      expect(failed).toMatchObject({ kind: 'error', category: 'internal' });
      expect(failed.message).toMatch(/plugin '\w+' failed in intercept: .*teardown failed/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(messagesOf(uncaught.errors)).toEqual([]);
    } finally {
      await app.close();
    }
  });

  it('a metadata function whose thenable fulfils twice: one call on the wire, no message twice', async () => {
    const twice = () => ({
      then(ok: (entries: Record<string, string>) => void) {
        ok({ 'x-first': '1' });
        ok({ 'x-second': '2' });
      },
    });
    const app = await createTestApp({ clients: [echoClient(server.target, { retry: false, metadata: twice as never })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    try {
      const before = server.calls.length;
      const settled = await settleOf(echo.serverStream<unknown, { index: number }>('ServerStream', { count: 5 }), WATCHDOG_MS);
      expect(settled.values.map((v) => v.index)).toEqual([0, 1, 2, 3, 4]);
      expect(server.calls.length - before).toBe(1);
    } finally {
      await app.close();
    }
  });
});

describe('onHeader / onTrailer when a plugin runs the call more than once', () => {
  let server: Server;
  let target: string;
  beforeAll(async () => {
    // answers with header and trailer x-who = the request's message, the slow one late
    server = new Server();
    const pkg = loadPackageDefinition(loadServerProto(ECHO_PROTO)) as unknown as { mesh: { test: { Echo: { service: ServiceDefinition } } } };
    server.addService(pkg.mesh.test.Echo.service, {
      Unary: (call: { request: { message: string }; sendMetadata(m: Metadata): void }, cb: (e: null, r: unknown, t: Metadata) => void) => {
        const who = call.request.message;
        const headers = new Metadata();
        headers.set('x-who', who);
        call.sendMetadata(headers);
        setTimeout(() => cb(null, { message: who }, headers), who === 'slow' ? 200 : 5);
      },
    });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    target = `127.0.0.1:${String(port)}`;
  });
  afterAll(() => server.forceShutdown());

  it('they see the metadata of the run whose answer the caller gets', async () => {
    const racing: MeshClientPlugin = {
      name: 'race',
      intercept: (call, next) =>
        race(
          next.handle(call.with({ request: { message: 'fast' } })),
          timer(20).pipe(switchMap(() => next.handle(call.with({ request: { message: 'slow' } })))),
        ),
    };
    const app = await createTestApp({ clients: [echoClient(target, { retry: false, plugins: [racing] })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    try {
      const seen: string[] = [];
      const settled = await settleOf(
        echo.unary<unknown, { message: string }>(
          'Unary',
          {},
          {
            onHeader: (h) => seen.push(`header ${String(h.get('x-who')[0])}`),
            onTrailer: (t) => seen.push(`trailer ${String(t.get('x-who')[0])}`),
          },
        ),
        WATCHDOG_MS,
      );
      expect(settled.values.map((v) => v.message)).toEqual(['fast']);
      expect(seen).toEqual(['header fast', 'trailer fast']);
    } finally {
      await app.close();
    }
  });
});

describe('a value whose reads throw, returned where a plugin or a metadata function answers: the failure names who gave it', () => {
  let server: EchoServer;
  beforeAll(async () => {
    server = await startEchoServer();
  });
  afterAll(async () => server.stop());

  const hostile = (): object =>
    new Proxy(
      {},
      {
        get: () => {
          throw new Error('hostile get');
        },
      },
    );
  /** A value whose `then` getter throws (is it a promise? reading it fails). */
  const thenGetterThrows = (): object => ({
    get then(): never {
      throw new Error('then getter');
    },
  });

  it.each([
    [
      'beforeAttempt',
      { plugins: [{ name: 'p', beforeAttempt: () => thenGetterThrows() as never }] },
      "plugin 'p' failed in beforeAttempt: then getter",
    ],
    ['afterAttempt', { plugins: [{ name: 'p', afterAttempt: () => thenGetterThrows() as never }] }, "plugin 'p' failed in afterAttempt: then getter"],
    ['intercept', { plugins: [{ name: 'p', intercept: () => hostile() as never }] }, "plugin 'p' failed in intercept: hostile get"],
    ['the metadata function', { metadata: () => thenGetterThrows() as never }, "the client's metadata function failed: then getter"],
  ])('%s', async (_where, options, message) => {
    const app = await createTestApp({ clients: [echoClient(server.target, { retry: false, ...options })] });
    try {
      const settled = await settleOf(app.get(MeshClientRegistry).get('echo').unary('Unary', {}), WATCHDOG_MS);
      expect(summary(settled)).toMatchObject({ kind: 'error', category: 'internal' });
      expect(summary(settled).message).toContain(message);
      expect(uncaught.errors).toEqual([]);
    } finally {
      await app.close();
    }
  });
});
