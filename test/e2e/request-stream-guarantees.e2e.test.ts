import {
  Server,
  ServerCredentials,
  loadPackageDefinition,
  status,
  type ServerReadableStream,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { Observable, Subject, defer, lastValueFrom, map, merge, of, retry, throwError } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, isMeshClientError, type MeshClient, type MeshClientOptions, type MeshClientPlugin } from '@datapunk/mesh-client';
import { useUncaughtCollector } from '../support/call-guards.js';
import { ECHO_PROTO, loadServerProto } from '../support/protos.js';
import { createTestApp, echoClient } from '../support/test-app.js';

// Found by attacking the request streams from outside (the call's guarantee: nothing sent is lost
// or sent twice, nothing crashes the process, nothing outlives the call).
const uncaught = useUncaughtCollector();
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Message {
  message?: string;
}

/**
 * An Echo server. ClientStream: what each attempt received (the one after `failNext` was set
 * fails, UNAVAILABLE, once its first message arrived). ServerStream: empty messages as fast
 * as the client takes them, counted. Bidi: reads and never answers.
 */
class StreamServer {
  readonly server = new Server();
  readonly attempts: string[][] = [];
  emptyWritten = 0;
  /** The next ClientStream call fails (UNAVAILABLE) once its first message arrived. */
  failNext = false;
  target = '';

  constructor() {
    const pkg = loadPackageDefinition(loadServerProto(ECHO_PROTO)) as unknown as { mesh: { test: { Echo: { service: ServiceDefinition } } } };
    this.server.addService(pkg.mesh.test.Echo.service, {
      ClientStream: (call: ServerReadableStream<Message, unknown>, cb: sendUnaryData<unknown>) => {
        const got: string[] = [];
        this.attempts.push(got);
        const failing = this.failNext;
        this.failNext = false;
        call.on('data', (request: Message) => {
          got.push(request.message ?? '');
          if (failing) cb({ code: status.UNAVAILABLE, details: 'first attempt refused' });
        });
        call.on('end', () => {
          if (!failing) cb(null, { message: got.join(','), received: got.length });
        });
        call.on('error', () => undefined);
      },
      ServerStream: (call: ServerWritableStream<unknown, unknown>) => {
        const pump = (): void => {
          while (!call.cancelled) {
            this.emptyWritten++;
            if (!call.write({})) return void call.once('drain', pump);
          }
        };
        pump();
        call.on('error', () => undefined);
      },
      Bidi: (call: ServerReadableStream<unknown, unknown>) => {
        call.on('data', () => undefined);
        call.on('error', () => undefined);
      },
    });
  }

  async start(): Promise<this> {
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    this.target = `127.0.0.1:${String(port)}`;
    return this;
  }
}

const RETRY: MeshClientOptions['retry'] = {
  maxAttempts: 3,
  initialBackoffMs: 10,
  maxBackoffMs: 10,
  backoffMultiplier: 1,
  jitter: 0,
  retryableCodes: ['UNAVAILABLE'],
};

/** A StreamServer and an app with `clients` of it (given its target), for the tests of a describe block. */
function useStreamApp(clients: (target: string) => MeshClientOptions[]): { srv: StreamServer; client: (name: string) => MeshClient } {
  const fixture = {} as { srv: StreamServer; app: Awaited<ReturnType<typeof createTestApp>> };
  beforeAll(async () => {
    fixture.srv = await new StreamServer().start();
    fixture.app = await createTestApp({ clients: clients(fixture.srv.target) });
  });
  afterAll(async () => {
    await fixture.app.close();
    fixture.srv.server.forceShutdown();
  });
  return {
    get srv() {
      return fixture.srv;
    },
    client: (name) => fixture.app.get(MeshClientRegistry).get(name),
  };
}

/** The "map each request" plugin: it hands on a stream derived from `call.request` (an Observable for a pushing stream). */
const upper: MeshClientPlugin = {
  name: 'upper',
  intercept: (call, next) =>
    next.handle(call.with({ request: (call.request as Observable<Message>).pipe(map((m) => ({ message: m.message?.toUpperCase() }))) })),
};

/** The same with an async generator over the caller's iterable, re-subscribed once on failure. */
const upperGenerator: MeshClientPlugin = {
  name: 'upper-generator',
  intercept: (call, next) => {
    async function* upperOf(requests: Iterable<Message>): AsyncGenerator<Message> {
      for (const m of requests) yield { message: m.message?.toUpperCase() };
    }
    return next.handle(call.with({ request: upperOf(call.request as Iterable<Message>) })).pipe(retry(1));
  },
};

/** `upperGenerator` without its own retry: an outer plugin re-subscribes what it hands on. */
const upperGeneratorOnce: MeshClientPlugin = {
  name: 'upper-generator-once',
  intercept: (call, next) => {
    async function* upperOf(requests: Iterable<Message>): AsyncGenerator<Message> {
      for (const m of requests) yield { message: m.message?.toUpperCase() };
    }
    return next.handle(call.with({ request: upperOf(call.request as Iterable<Message>) }));
  },
};

describe('request streams: nothing pushed is lost or sent twice', () => {
  const fx = useStreamApp((target) => [
    echoClient(target, { name: 'retrying', retry: RETRY }),
    echoClient(target, { name: 'asyncMeta', retry: false, metadata: async () => ({ 'x-tenant': 't' }) }),
    echoClient(target, { name: 'asyncBefore', retry: false, plugins: [{ name: 'slow', beforeAttempt: () => sleep(10) }] }),
    echoClient(target, {
      name: 'resubscribing',
      retry: false,
      plugins: [{ name: 'again', intercept: (call, next) => next.handle(call).pipe(retry(1)) }],
    }),
  ]);
  const client = fx.client;

  it('a retried call: what is pushed while the next attempt starts reaches it once, in order', async () => {
    const requests = new Subject<Message>();
    const before = fx.srv.attempts.length;
    fx.srv.failNext = true;
    const reply = lastValueFrom(client('retrying').clientStream<Message, Message>('ClientStream', requests));
    requests.next({ message: 'a' });
    for (let i = 0; i < 100 && fx.srv.attempts.length - before < 2; i++) await sleep(10);
    await sleep(30);
    requests.next({ message: 'b' });
    requests.next({ message: 'c' });
    requests.complete();
    expect((await reply).message).toBe('a,b,c');
    expect(fx.srv.attempts.slice(before)).toEqual([['a'], ['a', 'b', 'c']]);
  });

  it("a retried call: an async generator's read pending when the attempt failed goes to the next attempt", async () => {
    async function* requests(): AsyncGenerator<Message> {
      yield { message: 'a' };
      await sleep(60); // attempt 1 fails meanwhile
      yield { message: 'b' };
      yield { message: 'c' };
    }
    const before = fx.srv.attempts.length;
    fx.srv.failNext = true;
    const reply = await lastValueFrom(client('retrying').clientStream<Message, Message>('ClientStream', requests()));
    expect(reply.message).toBe('a,b,c');
    expect(fx.srv.attempts.slice(before)).toEqual([['a'], ['a', 'b', 'c']]);
  });

  it.each(['asyncMeta', 'asyncBefore'])('%s: a hot Subject loses nothing pushed before the first attempt starts', async (name) => {
    const requests = new Subject<Message>();
    const reply = lastValueFrom(client(name).clientStream<Message, Message>('ClientStream', requests));
    requests.next({ message: 'a' });
    requests.next({ message: 'b' });
    await sleep(30);
    requests.next({ message: 'c' });
    requests.complete();
    expect((await reply).message).toBe('a,b,c');
  });

  it("a plugin re-subscribing next.handle() sends a generator's messages again, not an empty stream", async () => {
    function* requests(): Generator<Message> {
      yield { message: 'a' };
      yield { message: 'b' };
    }
    const before = fx.srv.attempts.length;
    fx.srv.failNext = true;
    const reply = await lastValueFrom(client('resubscribing').clientStream<Message, Message>('ClientStream', requests()));
    expect(reply.message).toBe('a,b');
    expect(fx.srv.attempts.slice(before)).toEqual([['a'], ['a', 'b']]);
  });
});

describe('request streams through plugins that derive, re-subscribe or merge them', () => {
  const fx = useStreamApp((target) => [
    echoClient(target, { name: 'mapping', retry: false, metadata: async () => ({ 'x-tenant': 't' }), plugins: [upper] }),
    echoClient(target, { name: 'mappingAgain', retry: false, plugins: [upperGenerator] }),
    echoClient(target, {
      name: 'mappingInside',
      retry: false,
      plugins: [{ name: 'again', intercept: (call, next) => next.handle(call).pipe(retry(1)) }, upperGeneratorOnce],
    }),
    echoClient(target, {
      name: 'merging',
      retry: false,
      plugins: [{ name: 'thrice', intercept: (_call, next) => merge(next.handle(), next.handle(), next.handle()) }],
    }),
  ]);
  const client = fx.client;

  it("a plugin mapping the stream: the caller's cold Observable is subscribed once", async () => {
    let subscriptions = 0;
    const requests = defer(() => {
      subscriptions++;
      return of({ message: 'a' }, { message: 'b' });
    });
    expect((await lastValueFrom(client('mapping').clientStream<Message, Message>('ClientStream', requests))).message).toBe('A,B');
    expect(subscriptions).toBe(1);
  });

  it('a plugin mapping the stream, the call waiting for its metadata: a hot Subject loses nothing', async () => {
    const requests = new Subject<Message>();
    const reply = lastValueFrom(client('mapping').clientStream<Message, Message>('ClientStream', requests));
    requests.next({ message: 'a' });
    requests.next({ message: 'b' });
    await sleep(30);
    requests.next({ message: 'c' });
    requests.complete();
    expect((await reply).message).toBe('A,B,C');
  });

  it('a plugin re-subscribing the generator it derived: the second attempt sends the same messages, not an empty stream', async () => {
    const before = fx.srv.attempts.length;
    fx.srv.failNext = true;
    const reply = await lastValueFrom(client('mappingAgain').clientStream<Message, Message>('ClientStream', [{ message: 'a' }, { message: 'b' }]));
    expect(reply.message).toBe('A,B');
    expect(fx.srv.attempts.slice(before)).toEqual([['A'], ['A', 'B']]);
  });

  it('an outer plugin re-subscribing what an inner plugin derived: the inner one ran once, the second attempt sends the same messages', async () => {
    const before = fx.srv.attempts.length;
    fx.srv.failNext = true;
    function* requests(): Generator<Message> {
      yield { message: 'a' };
      yield { message: 'b' };
    }
    const reply = await lastValueFrom(client('mappingInside').clientStream<Message, Message>('ClientStream', requests()));
    expect(reply.message).toBe('A,B');
    expect(fx.srv.attempts.slice(before)).toEqual([['A'], ['A', 'B']]);
  });

  it('three runs side by side (merge of next.handle()), past the replay buffer: each sends every message, in order', async () => {
    const requests = new Subject<Message>();
    const before = fx.srv.attempts.length;
    const reply = lastValueFrom(client('merging').clientStream<Message, Message>('ClientStream', requests));
    const sent = Array.from({ length: 300 }, (_, i) => String(i));
    for (const [i, message] of sent.entries()) {
      requests.next({ message });
      if (i % 7 === 0) await sleep(1);
    }
    requests.complete();
    await reply;
    expect(fx.srv.attempts.slice(before)).toEqual([sent, sent, sent]);
  });
});

describe("request streams: another call's MeshClientError as the stream's error", () => {
  const fx = useStreamApp((target) => [
    echoClient(target, { name: 'bridging', retry: RETRY, breaker: { minimumCalls: 2, failureRateThreshold: 0.5 } }),
    echoClient('127.0.0.1:1', { name: 'dead', retry: false, connectTimeoutMs: 200 }),
  ]);

  it("is this call's 'cancelled' (cause kept): not retried, not counted by its breaker, naming this client", async () => {
    const foreign = await lastValueFrom(fx.client('dead').unary('Unary', { message: 'x' })).catch((e: unknown) => e);
    expect(isMeshClientError(foreign) && foreign.category).toBe('unavailable');
    const before = fx.srv.attempts.length;
    for (let i = 0; i < 4; i++) {
      const arrived = before + i + 1; // attempts the server has seen once this call's message reached it
      const requests = new Observable<Message>((o) => {
        o.next({ message: 'a' });
        const poll = setInterval(() => {
          if ((fx.srv.attempts[arrived - 1]?.length ?? 0) > 0) o.error(foreign);
        }, 5);
        return () => clearInterval(poll);
      });
      const error = await lastValueFrom(fx.client('bridging').clientStream('ClientStream', requests)).catch((e: unknown) => e);
      expect(isMeshClientError(error) && [error.category, error.client, error.attempts]).toEqual(['cancelled', 'bridging', 1]);
      expect((error as Error).message).toContain('the request stream failed: ');
      expect((error as Error).cause).toBe(foreign);
    }
    expect(fx.srv.attempts.length - before).toBe(4);
    expect(fx.client('bridging').breakerState()).toBe('closed');
  });
});

describe('request streams: hostile streams end the call, never the process', () => {
  let srv: StreamServer;
  let app: Awaited<ReturnType<typeof createTestApp>>;
  let echo: MeshClient;
  const hostile = (): object =>
    new Proxy(
      {},
      {
        get: () => {
          throw new Error('hostile get');
        },
        getPrototypeOf: () => {
          throw new Error('hostile prototype');
        },
      },
    );

  beforeAll(async () => {
    srv = await new StreamServer().start();
    app = await createTestApp({ clients: [echoClient(srv.target, { timeoutMs: 5_000, drainTimeoutMs: 50 })] });
    echo = app.get(MeshClientRegistry).get('echo');
  });
  afterAll(async () => {
    await app.close();
    srv.server.forceShutdown();
  });

  it.each([
    ['an Observable erroring with it', () => new Observable<Message>((o) => void setTimeout(() => o.error(hostile()), 10))],
    ['an async iterator rejecting with it', () => ({ [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(hostile()) }) })],
  ])('a value whose every read throws, from %s: cancelled, at once, nothing uncaught', async (_, requests) => {
    const started = performance.now();
    const error = await lastValueFrom(echo.clientStream('ClientStream', requests() as Observable<Message>)).catch((e: unknown) => e);
    expect(isMeshClientError(error) && error.category).toBe('cancelled');
    expect((error as Error).message).toContain('the request stream failed: a value that cannot be read');
    expect(performance.now() - started).toBeLessThan(2_000);
    await sleep(20);
    expect(uncaught.errors).toEqual([]);
  });

  it('a real MeshClientError behind a Proxy whose reads throw, as the stream error: a MeshClientError, nothing uncaught', async () => {
    const real = await lastValueFrom(echo.clientStream('ClientStream', 'not a stream' as never)).catch((e: unknown) => e);
    const branded = new Proxy(real as object, {
      get: (target, key) => {
        if (typeof key === 'string') throw new Error('hostile get');
        return Reflect.get(target, key) as unknown;
      },
    });
    const error = await lastValueFrom(
      echo.clientStream(
        'ClientStream',
        throwError(() => branded),
      ),
    ).catch((e: unknown) => e);
    expect(isMeshClientError(error) && error.category).toBe('cancelled');
    await sleep(20);
    expect(uncaught.errors).toEqual([]);
  });

  it.each([
    ['null', null, 'null'],
    ['a number', 5, 'a number'],
  ])('an iterator whose next() gives %s: invalid-request at once, naming what it gave', async (_, result, named) => {
    const requests = { [Symbol.iterator]: () => ({ next: () => result }) };
    const error = await lastValueFrom(echo.clientStream('ClientStream', requests as unknown as Message[])).catch((e: unknown) => e);
    expect(isMeshClientError(error) && error.category).toBe('invalid-request');
    expect((error as Error).message).toContain(`the request iterator's next() gave ${named}, not an iterator result`);
  });

  it("ending the call inside the request Observable's subscribe: its teardown still runs", async () => {
    const abort = new AbortController();
    let ticks = 0;
    let tornDown = false;
    const requests = new Observable<Message>(() => {
      abort.abort();
      const interval = setInterval(() => ticks++, 5);
      return () => {
        tornDown = true;
        clearInterval(interval);
      };
    });
    const error = await lastValueFrom(echo.clientStream('ClientStream', requests, { signal: abort.signal })).catch((e: unknown) => e);
    expect(isMeshClientError(error) && error.category).toBe('cancelled');
    expect(tornDown).toBe(true);
    const after = ticks;
    await sleep(30);
    expect(ticks).toBe(after);
  });

  it('an AbortSignal that cannot be listened to fails the call, and nothing after it runs', async () => {
    let metadataCalls = 0;
    const local = await createTestApp({
      clients: [echoClient(srv.target, { name: 'signals', metadata: () => (metadataCalls++, {}) as Record<string, string> })],
    });
    const signals = local.get(MeshClientRegistry).get('signals');
    const signal = {
      aborted: false,
      addEventListener: () => {
        throw new Error('no listeners here');
      },
      removeEventListener: () => undefined,
    } as unknown as AbortSignal;
    const error = await lastValueFrom(signals.unary('Unary', { message: 'x' }, { signal })).catch((e: unknown) => e);
    expect(isMeshClientError(error) && error.category).toBe('invalid-request');
    expect(metadataCalls).toBe(0);
    expect(signals.inflight).toBe(0);
    await local.close();
  });

  it('a request teardown that throws: close() still cancels the call and lets go of the connection', async () => {
    const local = await createTestApp({ clients: [echoClient(srv.target, { name: 'teardown', drainTimeoutMs: 50 })] });
    const client = local.get(MeshClientRegistry).get('teardown');
    const requests = new Observable<Message>((o) => {
      o.next({ message: 'a' });
      return () => {
        throw new Error('teardown failed');
      };
    });
    let outcome: unknown = 'pending';
    client.bidiStream('Bidi', requests).subscribe({ error: (e: unknown) => (outcome = e), complete: () => (outcome = 'complete') });
    await sleep(50);
    await expect(local.close()).resolves.toBeUndefined();
    expect(isMeshClientError(outcome) && outcome.category).toBe('cancelled');
    expect(client.inflight).toBe(0);
    expect(uncaught.errors).toEqual([]);
  });
});

describe('iterate(): a flood of empty messages is held back like any other', () => {
  let srv: StreamServer;
  let app: Awaited<ReturnType<typeof createTestApp>>;

  beforeAll(async () => {
    srv = await new StreamServer().start();
    app = await createTestApp({ clients: [echoClient(srv.target, { timeoutMs: 30_000 })] });
  });
  afterAll(async () => {
    await app.close();
    srv.server.forceShutdown();
  });

  it('a slow consumer: the server stops being read (each message counts its 5-byte prefix against the read-ahead)', async () => {
    const echo: MeshClient = app.get(MeshClientRegistry).get('echo');
    let taken = 0;
    const counts: number[] = [];
    const held = (): boolean => counts.length >= 2 && counts.at(-1) === counts.at(-2);
    for await (const message of echo.iterate('ServerStream', {})) {
      expect(message).toBeDefined();
      taken++;
      await sleep(20);
      if (taken % 10 === 0) counts.push(srv.emptyWritten);
      if (held() || taken === 250) break;
    }
    // 64 KiB of read-ahead is about 13,000 empty messages, plus the HTTP/2 window and the server's
    // own buffer; then the server is held back (unbounded, it wrote on at about 30,000 a second)
    expect(held()).toBe(true);
    expect(counts.at(-1)).toBeLessThan(60_000);
  });
});
