import { Controller, Get, Injectable, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Test, type TestingModule } from '@nestjs/testing';
import { HealthImplementation } from 'grpc-health-check';
import {
  Subject,
  catchError,
  concatMap,
  finalize,
  first,
  firstValueFrom,
  lastValueFrom,
  map,
  share,
  switchMap,
  takeUntil,
  toArray,
  type Observable,
} from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  InjectMeshClient,
  MeshClientModule,
  MeshClientRegistry,
  MeshContext,
  type MeshAttempt,
  type MeshClient,
  type MeshClientPlugin,
} from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { createTestApp, echoClient } from '../support/test-app.js';

interface Reply {
  message: string;
}

/** Asks the echo server to answer with the value of request header `key`. */
const echoing = (key: string) => ({ metadata: { 'x-test-echo-header': key } });

/** Reads the ambient MeshContext (nestjs-cls) in its hook, as a plugin built by Nest DI does. */
@Injectable()
class AmbientTenantPlugin implements MeshClientPlugin {
  readonly name = 'ambient-tenant';
  readonly seen: { ambient: string | undefined; call: string | undefined }[] = [];
  readonly ended: { ambient: string | undefined; call: string | undefined }[] = [];
  constructor(private readonly context: MeshContext) {}
  beforeAttempt(attempt: MeshAttempt): void {
    this.seen.push({ ambient: this.context.get()?.tenant, call: attempt.call.context?.tenant });
  }
  afterAttempt(attempt: MeshAttempt): void {
    this.ended.push({ ambient: this.context.get()?.tenant, call: attempt.call.context?.tenant });
  }
}

/** Calls of the same request share one run while it is in flight (request coalescing). */
const inFlight = new Map<string, Observable<unknown>>();
const COALESCE: MeshClientPlugin = {
  name: 'coalesce',
  intercept: (call, next) => {
    const key = JSON.stringify(call.request);
    let shared = inFlight.get(key);
    if (!shared) {
      shared = next.handle(call).pipe(
        finalize(() => inFlight.delete(key)),
        share(),
      );
      inFlight.set(key, shared);
    }
    return shared;
  },
};

/** Holds every call until the next `release` (which whichever request comes next fires). */
const release = new Subject<void>();
const THROTTLE: MeshClientPlugin = {
  name: 'throttle',
  intercept: (call, next) =>
    release.pipe(
      first(),
      switchMap(() => next.handle(call)),
    ),
};

/*
 * grpc-js calls back in the async context of whatever opened the connection (another request), one
 * timer serves every call's deadline and a permit comes back from another call. What a call's
 * outcome runs (the caller's operators, a call chained on it, a plugin's hook) must see the context
 * the call was subscribed in, or a chained call carries another request's token and tenant.
 */
describe("a call's callbacks run in its caller's context", () => {
  let server: EchoServer;
  let app: TestingModule;
  let echo: MeshClient;
  let limited: MeshClient;
  let retried: MeshClient;
  let context: MeshContext;
  let plugin: AmbientTenantPlugin;

  beforeAll(async () => {
    server = await startEchoServer();
    const moduleRef = await Test.createTestingModule({
      imports: [
        MeshClientModule.forRoot({
          plugins: [AmbientTenantPlugin],
          clients: [
            echoClient(server.target, { retry: false }),
            echoClient(server.target, { name: 'limited', retry: false, concurrency: { limit: 1, maxQueue: 10 } }),
            echoClient(server.target, { name: 'retried', retry: { maxAttempts: 3, initialBackoffMs: 5, maxBackoffMs: 10 } }),
            echoClient(server.target, { name: 'held', retry: false, plugins: [THROTTLE] }),
            echoClient(server.target, { name: 'coalesced', retry: false, plugins: [COALESCE] }),
          ],
        }),
      ],
    }).compile();
    app = await moduleRef.init();
    const registry = app.get(MeshClientRegistry);
    [echo, limited, retried] = [registry.get('echo'), registry.get('limited'), registry.get('retried')];
    context = app.get(MeshContext);
    plugin = app.get(AmbientTenantPlugin);
    // tenant 'opener' opens every client's connection: grpc-js's callbacks run in its context from now on
    await context.run({ tenant: 'opener' }, () =>
      Promise.all([echo, limited, retried].map((c) => c.request('Unary', {}, { metadata: { 'x-test-call-id': `open-${c.name}` } }))),
    );
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  it("a call chained on another's response (switchMap) carries the caller's tenant", async () => {
    const reply = await context.run({ tenant: 'tenant-b' }, () =>
      lastValueFrom(echo.unary('Unary', { message: 'b1' }).pipe(switchMap(() => echo.unary<object, Reply>('Unary', {}, echoing('x-tenant-id'))))),
    );
    expect(reply.message).toBe('tenant-b');
  });

  it("concurrent tenants, each chaining calls on its server stream's messages: none carries another's", async () => {
    const tenants = ['red', 'green', 'blue', 'amber', 'teal', 'plum'];
    const echoed = await Promise.all(
      tenants.map((tenant) =>
        context.run({ tenant }, () =>
          lastValueFrom(
            echo.serverStream('ServerStream', { message: tenant, count: 2 }).pipe(
              concatMap(() => echo.unary<object, Reply>('Unary', {}, echoing('x-tenant-id'))),
              toArray(),
            ),
          ),
        ),
      ),
    );
    expect(echoed.map((replies) => replies.map((r) => r.message))).toEqual(tenants.map((t) => [t, t]));
  });

  it("a fallback after a deadline (catchError) carries the caller's tenant, not that of the call that armed the timer", async () => {
    // A holds the permit and arms the client's one deadline timer; B, queued behind it, times out on that timer
    const slow = (timeoutMs: number) => ({ timeoutMs, metadata: { 'x-test-delay-ms': '1000' } });
    const a = context.run({ tenant: 'timer-a' }, () => limited.request('Unary', {}, slow(100)).catch(() => 'a timed out'));
    const b = context.run({ tenant: 'timer-b' }, () =>
      lastValueFrom(
        limited.unary<object, Reply>('Unary', {}, slow(250)).pipe(catchError(() => echo.unary<object, Reply>('Unary', {}, echoing('x-tenant-id')))),
      ),
    );
    expect(await a).toBe('a timed out');
    expect((await b).message).toBe('timer-b');
  });

  it("a call that waited for a permit another tenant's call gave back: its hooks see its own tenant", async () => {
    plugin.seen.length = 0;
    const a = context.run({ tenant: 'holder-a' }, () => limited.request('Unary', {}, { metadata: { 'x-test-delay-ms': '100' } }));
    const b = context.run({ tenant: 'queued-b' }, () => limited.request('Unary', {}));
    await Promise.all([a, b]);
    expect(plugin.seen).toEqual([
      { ambient: 'holder-a', call: 'holder-a' },
      { ambient: 'queued-b', call: 'queued-b' },
    ]);
  });

  it('a call an intercepting plugin held until another request released it: its hooks and its operators see its own tenant', async () => {
    plugin.seen.length = 0;
    const held = app.get(MeshClientRegistry).get('held');
    const a = context.run({ tenant: 'held-a' }, () => lastValueFrom(held.unary('Unary', {}).pipe(map(() => context.get()?.tenant))));
    await new Promise((r) => setTimeout(r, 20));
    context.run({ tenant: 'releaser-b' }, () => release.next());
    expect(await a).toBe('held-a');
    expect(plugin.seen).toEqual([{ ambient: 'held-a', call: 'held-a' }]);
  });

  it("a call that joined another request's run (a coalescing plugin): its operators see its own tenant", async () => {
    const coalesced = app.get(MeshClientRegistry).get('coalesced');
    const slow = { metadata: { 'x-test-delay-ms': '100' } };
    const tenantAfter = (tenant: string) =>
      context.run({ tenant }, () => lastValueFrom(coalesced.unary('Unary', { message: 'same' }, slow).pipe(map(() => context.get()?.tenant))));
    const first = tenantAfter('first-a');
    await new Promise((r) => setTimeout(r, 20));
    expect(await Promise.all([first, tenantAfter('joined-b')])).toEqual(['first-a', 'joined-b']);
  });

  it("a request stream another request pushes a bad message into: the call fails in its caller's context", async () => {
    const requests = new Subject<unknown>();
    const reply = context.run({ tenant: 'streamer' }, () =>
      lastValueFrom(
        echo.bidiStream('Bidi', requests).pipe(
          catchError(() => echo.unary<object, Reply>('Unary', {}, echoing('x-tenant-id'))),
          map((r) => (r as Reply).message),
        ),
      ),
    );
    await new Promise((r) => setTimeout(r, 50));
    context.run({ tenant: 'pusher' }, () => requests.next({ message: 42 }));
    expect(await reply).toBe('streamer');
  });

  it('a call its subscriber left from another request (takeUntil): its afterAttempt sees its own tenant', async () => {
    plugin.ended.length = 0;
    const stop = new Subject<void>();
    const a = context.run({ tenant: 'victim-a' }, () =>
      lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-delay-ms': '2000' } }).pipe(takeUntil(stop)), { defaultValue: 'left' }),
    );
    await new Promise((r) => setTimeout(r, 50));
    context.run({ tenant: 'other-b' }, () => stop.next());
    expect(await a).toBe('left');
    expect(plugin.ended).toEqual([{ ambient: 'victim-a', call: 'victim-a' }]);
  });

  it("a retry after a failure the connection's context reported: the next attempt's hook sees the caller's tenant", async () => {
    plugin.seen.length = 0;
    await context.run({ tenant: 'tenant-r' }, () =>
      retried.request('Unary', {}, { metadata: { 'x-test-fail-times': '1', 'x-test-call-id': 'r-1' } }),
    );
    expect(plugin.seen).toEqual([
      { ambient: 'tenant-r', call: 'tenant-r' },
      { ambient: 'tenant-r', call: 'tenant-r' },
    ]);
  });

  it("a request stream pulled from an iterator: each message is made in the caller's context", async () => {
    const made: (string | undefined)[] = [];
    function* requests(): Generator<{ message: string }> {
      for (let i = 0; i < 3; i++) {
        made.push(context.get()?.tenant);
        yield { message: String(i) };
      }
    }
    await context.run({ tenant: 'streamer' }, () => lastValueFrom(echo.clientStream('ClientStream', requests())));
    expect(made).toEqual(['streamer', 'streamer', 'streamer']);
  });
});

describe("a watchHealth() subscriber's context", () => {
  it('a call chained on a health status carries the tenant that subscribed, not the one that opened the connection', async () => {
    const server = await startEchoServer({ health: new HealthImplementation({ '': 'SERVING' }) });
    const app = await createTestApp({ clients: [echoClient(server.target, { retry: false })] });
    const [echo, context] = [app.get(MeshClientRegistry).get('echo'), app.get(MeshContext)];
    try {
      await context.run({ tenant: 'opener' }, () => echo.request('Unary', {}));
      const reply = await context.run({ tenant: 'watcher' }, () =>
        firstValueFrom(echo.watchHealth().pipe(switchMap(() => echo.unary<object, Reply>('Unary', {}, echoing('x-tenant-id'))))),
      );
      expect(reply.message).toBe('watcher');
    } finally {
      await app.close();
      await server.stop();
    }
  });
});

@Controller()
class ChainController {
  constructor(@InjectMeshClient('next') private readonly next: MeshClient) {}

  @Get('whoami')
  whoami(): Observable<Reply> {
    return this.next.unary<object, Reply>('Unary', {}, echoing('authorization'));
  }

  /** A handler returning an Observable chain: a look-up, then the call that matters. */
  @Get('chain')
  chain(): Observable<Reply> {
    return this.next
      .unary('Unary', { message: 'look-up' })
      .pipe(switchMap(() => this.next.unary<object, Reply>('Unary', {}, echoing('authorization'))));
  }
}

describe("a Nest handler's Observable chain, request by request", () => {
  let server: EchoServer;
  let app: INestApplication;
  let url: string;

  beforeAll(async () => {
    server = await startEchoServer();
    @Module({
      imports: [
        MeshClientModule.forRoot({
          trustIncoming: ['requestId', 'token', 'tenant'],
          clients: [echoClient(server.target, { name: 'next', retry: false })],
        }),
      ],
      controllers: [ChainController],
    })
    class ChainApp {}
    app = await NestFactory.create(ChainApp, { logger: false });
    await app.listen(0, '127.0.0.1');
    url = await app.getUrl();
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  const as = async (path: string, token: string): Promise<string> =>
    ((await (await fetch(`${url}/${path}`, { headers: { authorization: `Bearer ${token}` } })).json()) as Reply).message;

  it("alice's request opens the connection; bob's chained call carries bob's token", async () => {
    expect(await as('whoami', 'tok-alice')).toBe('Bearer tok-alice');
    expect(await as('chain', 'tok-bob')).toBe('Bearer tok-bob');
  });
});
