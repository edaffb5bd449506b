import { randomUUID } from 'node:crypto';
import { Injectable, Module, Scope } from '@nestjs/common';
import { Test, type TestingModule } from '@nestjs/testing';
import { Metadata } from '@grpc/grpc-js';
import { lastValueFrom, map, of, toArray, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MeshClientModule,
  MeshClientRegistry,
  isMeshConfigError,
  type MeshAttempt,
  type MeshAttemptEnd,
  type MeshCall,
  type MeshCallHandler,
  type MeshClientPlugin,
  type MeshMethodInfo,
} from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { failureOf } from '../support/errors.js';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { createTestApp, echoClient, moduleStartError } from '../support/test-app.js';

/** A provider of another module, injected into a plugin class. */
@Injectable()
class Recorder {
  readonly events: string[] = [];
}
@Module({ providers: [Recorder], exports: [Recorder] })
class RecorderModule {}

/** Records every hook it sees, prefixed with its name. */
function recording(name: string, events: () => string[]): Omit<MeshClientPlugin, 'name'> {
  return {
    intercept(call: MeshCall, next: MeshCallHandler): Observable<unknown> {
      events().push(`${name}.intercept ${call.method.method}`);
      return next.handle(call);
    },
    beforeAttempt(a: MeshAttempt) {
      events().push(`${name}.before#${String(a.attempt)}`);
    },
    onHeaders(a: MeshAttempt) {
      events().push(`${name}.headers#${String(a.attempt)}`);
    },
    afterAttempt(a: MeshAttempt, end: MeshAttemptEnd) {
      events().push(`${name}.after#${String(a.attempt)} ${end.codeName}`);
    },
  };
}

@Injectable()
class ModulePlugin implements MeshClientPlugin {
  readonly name = 'module';
  constructor(readonly recorder: Recorder) {
    Object.assign(
      this,
      recording('M', () => recorder.events),
    );
  }
}

describe('plugins see every call and every attempt, in the documented order', () => {
  let server: EchoServer;
  let app: TestingModule;
  let recorder: Recorder;

  beforeAll(async () => {
    server = await startEchoServer();
    const moduleRef = await Test.createTestingModule({
      imports: [
        MeshClientModule.forRoot({
          imports: [RecorderModule],
          plugins: [ModulePlugin],
          clients: [
            echoClient(server.target, {
              retry: { initialBackoffMs: 1, maxBackoffMs: 1 },
              plugins: [{ name: 'client', ...recording('C', () => recorder.events) }],
            }),
          ],
        }),
        RecorderModule,
      ],
    }).compile();
    app = await moduleRef.init();
    // RecorderModule is one module however many import it: the plugin's Recorder is this one
    recorder = app.get(Recorder, { strict: false });
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  const calls: [string, () => Observable<unknown>][] = [
    ['Unary', () => app.get(MeshClientRegistry).get('echo').unary('Unary', {})],
    ['ServerStream', () => app.get(MeshClientRegistry).get('echo').serverStream('ServerStream', { count: 2 })],
    [
      'ClientStream',
      () =>
        app
          .get(MeshClientRegistry)
          .get('echo')
          .clientStream('ClientStream', of({ message: 'a' })),
    ],
    [
      'Bidi',
      () =>
        app
          .get(MeshClientRegistry)
          .get('echo')
          .bidiStream('Bidi', of({ message: 'b' })),
    ],
  ];

  it.each(calls)(
    '%s: module plugin (a class built by Nest, injecting a provider of another module) outside the client plugin',
    async (method, call) => {
      recorder.events.length = 0;
      await lastValueFrom(call().pipe(toArray()));
      expect(recorder.events).toEqual([
        `M.intercept ${method}`,
        `C.intercept ${method}`,
        'M.before#1',
        'C.before#1',
        'M.headers#1',
        'C.headers#1',
        'C.after#1 OK',
        'M.after#1 OK',
      ]);
    },
  );

  it('each attempt of a retried call, with its status', async () => {
    recorder.events.length = 0;
    const echo = app.get(MeshClientRegistry).get('echo');
    await lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-fail-times': '1', 'x-test-call-id': randomUUID() } }));
    expect(recorder.events.filter((e) => e.includes('after'))).toEqual([
      'C.after#1 UNAVAILABLE',
      'M.after#1 UNAVAILABLE',
      'C.after#2 OK',
      'M.after#2 OK',
    ]);
    expect(recorder.events.filter((e) => e.includes('intercept'))).toHaveLength(2);
  });
});

describe('forRootAsync', () => {
  it('takes plugin classes next to clientNames (built with DI), and the factory may add instances per client', async () => {
    const server = await startEchoServer();
    const moduleRef = await Test.createTestingModule({
      imports: [
        RecorderModule,
        MeshClientModule.forRootAsync({
          clientNames: ['echo'],
          imports: [RecorderModule],
          plugins: [ModulePlugin],
          inject: [Recorder],
          useFactory: (recorder: Recorder) => ({
            clients: [echoClient(server.target, { plugins: [{ name: 'client', ...recording('F', () => recorder.events) }] })],
          }),
        }),
      ],
    }).compile();
    const app = await moduleRef.init();
    const recorder = app.get(Recorder, { strict: false });
    await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}));
    expect(recorder.events.filter((e) => e.includes('before'))).toEqual(['M.before#1', 'F.before#1']);
    await app.close();
    await server.stop();
  });
});

/** Counts the attempts of the calls it sees; the app reads the count. */
@Injectable()
class AttemptCounter implements MeshClientPlugin {
  readonly name: string = 'attempt-counter';
  count = 0;
  beforeAttempt(): void {
    this.count++;
  }
}
/** The same, listed for one client only. */
@Injectable()
class ClientAttemptCounter extends AttemptCounter {
  override readonly name = 'client-attempt-counter';
}
/** The app's own provider, injecting the plugins. */
@Injectable()
class AttemptReport {
  constructor(
    readonly all: AttemptCounter,
    readonly one: ClientAttemptCounter,
  ) {}
}

describe('plugin classes are injectable in the app', () => {
  it('forRoot exports each plugin class (module and client lists): the app gets the instance the library calls', async () => {
    const server = await startEchoServer();
    const moduleRef = await Test.createTestingModule({
      imports: [MeshClientModule.forRoot({ plugins: [AttemptCounter], clients: [echoClient(server.target, { plugins: [ClientAttemptCounter] })] })],
      providers: [AttemptReport],
    }).compile();
    const app = await moduleRef.init();
    const report = app.get(AttemptReport);
    await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}));
    await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}));
    expect([report.all.count, report.one.count]).toEqual([2, 2]);
    await app.close();
    await server.stop();
  });

  it('forRootAsync exports the plugin classes given beside clientNames', async () => {
    const server = await startEchoServer();
    const moduleRef = await Test.createTestingModule({
      imports: [
        MeshClientModule.forRootAsync({
          clientNames: ['echo'],
          plugins: [AttemptCounter, ClientAttemptCounter],
          useFactory: () => ({ clients: [echoClient(server.target)] }),
        }),
      ],
      providers: [AttemptReport],
    }).compile();
    const app = await moduleRef.init();
    await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}));
    expect(app.get(AttemptReport).all.count).toBe(1);
    expect(app.get(AttemptReport).one.count).toBe(1);
    await app.close();
    await server.stop();
  });
});

describe('the attempt tier', () => {
  let server: EchoServer;
  beforeAll(async () => {
    server = await startEchoServer();
  });
  afterAll(() => server.stop());

  it("sets each attempt's metadata: a call failing once reaches the server twice, with x-attempt 1 then 2", async () => {
    const attemptHeader: MeshClientPlugin = { name: 'attempt-header', beforeAttempt: (a) => a.metadata.set('x-attempt', String(a.attempt)) };
    const app = await createTestApp({
      plugins: [attemptHeader],
      clients: [echoClient(server.target, { retry: { initialBackoffMs: 1, maxBackoffMs: 1 } })],
    });
    const before = server.metadataSeen.length;
    await lastValueFrom(
      app
        .get(MeshClientRegistry)
        .get('echo')
        .unary('Unary', {}, { metadata: { 'x-test-fail-times': '1', 'x-test-call-id': randomUUID() } }),
    );
    expect(server.metadataSeen.slice(before).map((m) => m.get('x-attempt')[0])).toEqual(['1', '2']);
    await app.close();
  });

  it('a header a hook sets on one attempt stays off the next; a hook that reads the metadata after the attempt sees what was sent', async () => {
    const seenAfter: string[][] = [];
    const firstOnly: MeshClientPlugin = {
      name: 'first-only',
      beforeAttempt: (a) => {
        if (a.attempt === 1) a.metadata.set('x-first', 'yes');
      },
    };
    const reader: MeshClientPlugin = {
      name: 'reader',
      afterAttempt: (a) =>
        void seenAfter.push([String(a.attempt), String(a.metadata.get('x-first')[0]), String(a.metadata.get('x-test-call-id').length)]),
    };
    const app = await createTestApp({
      clients: [echoClient(server.target, { retry: { initialBackoffMs: 1, maxBackoffMs: 1 }, plugins: [reader, firstOnly] })],
    });
    const before = server.metadataSeen.length;
    const id = randomUUID();
    await lastValueFrom(
      app
        .get(MeshClientRegistry)
        .get('echo')
        .unary('Unary', {}, { metadata: { 'x-test-fail-times': '1', 'x-test-call-id': id } }),
    );
    expect(server.metadataSeen.slice(before).map((m) => m.get('x-first')[0])).toEqual(['yes', undefined]);
    expect(seenAfter).toEqual([
      ['1', 'yes', '1'],
      ['2', 'undefined', '1'],
    ]);
    await app.close();
  });

  it("a hook that changes an attempt's metadata after it was sent changes no other attempt and not the call's", async () => {
    let callMetadata: Metadata | undefined;
    const late: MeshClientPlugin = {
      name: 'late',
      intercept: (call, next) => {
        callMetadata = call.metadata;
        return next.handle();
      },
      // no beforeAttempt reads the metadata: attempt 1 goes out with the call's own
      afterAttempt: (a) => void a.metadata.set('x-late', `from-${String(a.attempt)}`),
    };
    const app = await createTestApp({ clients: [echoClient(server.target, { retry: { initialBackoffMs: 1, maxBackoffMs: 1 }, plugins: [late] })] });
    const before = server.metadataSeen.length;
    await lastValueFrom(
      app
        .get(MeshClientRegistry)
        .get('echo')
        .unary('Unary', {}, { metadata: { 'x-test-fail-times': '1', 'x-test-call-id': randomUUID() } }),
    );
    expect(server.metadataSeen.slice(before).map((m) => m.get('x-late')[0])).toEqual([undefined, undefined]);
    expect(callMetadata?.get('x-late')).toEqual([]);
    await app.close();
  });

  it("'replay' gives one extra attempt of an uncommitted call, also with retry off, once per call", async () => {
    const replayer: MeshClientPlugin = { name: 'replayer', afterAttempt: (_a, end) => (end.code === 14 ? 'replay' : undefined) };
    const app = await createTestApp({ clients: [echoClient(server.target, { retry: false, plugins: [replayer] })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    const before = server.calls.length;
    await lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-fail-times': '1', 'x-test-call-id': randomUUID() } }));
    expect(server.calls.length - before).toBe(2);
    const error = await failureOf(lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-status': '14' } })));
    expect(error).toMatchObject({ category: 'unavailable', attempts: 2 });
    await app.close();
  });

  it('intercept may change the request and map the responses', async () => {
    const shout: MeshClientPlugin = {
      name: 'shout',
      intercept: (call, next) =>
        next
          .handle(call.with({ request: { message: 'changed' } }))
          .pipe(map((r) => ({ ...(r as EchoReply), message: (r as EchoReply).message.toUpperCase() }))),
    };
    const app = await createTestApp({ clients: [echoClient(server.target, { plugins: [shout] })] });
    const reply = await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary<EchoRequest, EchoReply>('Unary', { message: 'original' }));
    expect(reply.message).toBe('CHANGED');
    await app.close();
  });

  it("a hook that throws fails the call 'internal' naming the plugin; not retried; the breaker stays closed after 50", async () => {
    const broken: MeshClientPlugin = {
      name: 'broken',
      beforeAttempt: (a) => {
        if (a.call.method.method === 'Unary') throw new Error('boom');
      },
    };
    const app = await createTestApp({
      clients: [echoClient(server.target, { plugins: [broken], breaker: { consecutiveFailures: 3, minimumCalls: 5 } })],
    });
    const echo = app.get(MeshClientRegistry).get('echo');
    const before = server.calls.length;
    for (let i = 0; i < 50; i++) {
      const error = await failureOf(lastValueFrom(echo.unary('Unary', {})));
      expect(error).toMatchObject({ category: 'internal', retryable: false, code: 13 });
      expect(error.message).toContain("plugin 'broken' failed in beforeAttempt: boom");
    }
    expect(server.calls.length).toBe(before);
    expect(echo.breakerState()).toBe('closed');
    await app.close();
  });

  it('appliesTo is asked once per method, again after update(), never per call', async () => {
    const asked: string[] = [];
    const picky: MeshClientPlugin = {
      name: 'picky',
      appliesTo: (m: MeshMethodInfo) => {
        asked.push(`${m.method}:${String(m.idempotent)}`);
        return m.method === 'Unary';
      },
      beforeAttempt: (a) => a.metadata.set('x-picky', 'yes'),
    };
    const app = await createTestApp({ clients: [echoClient(server.target, { plugins: [picky] })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    expect(asked.sort()).toEqual(['Bidi:false', 'ClientStream:false', 'ServerStream:false', 'Unary:false']);
    for (let i = 0; i < 5; i++) await lastValueFrom(echo.unary('Unary', {}));
    await lastValueFrom(echo.serverStream('ServerStream', { count: 1 }));
    expect(asked).toHaveLength(4);
    expect(server.metadataSeen.at(-1)!.get('x-picky')).toEqual([]);
    expect(server.metadataSeen.at(-2)!.get('x-picky')).toEqual(['yes']);
    echo.update({ methods: { Unary: { idempotent: true } } });
    expect(asked).toContain('Unary:true');
    await app.close();
  });

  it('a request- or transient-scoped plugin class fails start with MeshConfigError', async () => {
    for (const scope of [Scope.REQUEST, Scope.TRANSIENT]) {
      @Injectable({ scope })
      class Scoped implements MeshClientPlugin {
        readonly name = 'scoped';
      }
      const error = await moduleStartError({ plugins: [Scoped], clients: [echoClient(server.target)] });
      expect(isMeshConfigError(error) && error.message).toMatch(/plugin class Scoped is (request|transient)-scoped/);
    }
    const error = await moduleStartError({ plugins: [{ nom: 'x' }], clients: [echoClient(server.target)] });
    expect(isMeshConfigError(error) && error.message).toContain("plugins[0] needs a non-empty string 'name'");
  });
});

describe('response headers and trailers for callers (onHeader / onTrailer)', () => {
  let server: EchoServer;
  let app: TestingModule;
  beforeAll(async () => {
    server = await startEchoServer();
    app = await createTestApp({ clients: [echoClient(server.target, { retry: false })] });
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  const capture = () => {
    const seen: { header?: Metadata; trailer?: Metadata } = {};
    return {
      seen,
      options: {
        onHeader: (h: Metadata) => (seen.header = h),
        onTrailer: (t: Metadata) => (seen.trailer = t),
        metadata: { 'x-test-reply-meta': 'v1' },
      },
    };
  };

  it('a successful unary call', async () => {
    const { seen, options } = capture();
    await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}, options));
    expect(seen.header?.get('x-reply-header')).toEqual(['v1']);
    expect(seen.trailer?.get('x-reply-trailer')).toEqual(['v1']);
  });

  it('a server stream: the header before the first message, the trailer before the end', async () => {
    const { seen, options } = capture();
    const order: string[] = [];
    const echo = app.get(MeshClientRegistry).get('echo');
    await lastValueFrom(
      echo
        .serverStream(
          'ServerStream',
          { count: 2 },
          {
            ...options,
            onHeader: (h) => (order.push('header'), options.onHeader(h)),
            onTrailer: (t) => (order.push('trailer'), options.onTrailer(t)),
          },
        )
        .pipe(
          map(() => order.push('message')),
          toArray(),
        ),
    );
    expect(order).toEqual(['header', 'message', 'message', 'trailer']);
    expect(seen.trailer?.get('x-reply-trailer')).toEqual(['v1']);
  });

  it('the trailer of a failed call, also for client and bidi streams', async () => {
    const echo = app.get(MeshClientRegistry).get('echo');
    for (const call of [
      (o: object) => echo.unary('Unary', {}, o),
      (o: object) => echo.clientStream('ClientStream', of({}), o),
      (o: object) => echo.bidiStream('Bidi', of({}), o),
    ]) {
      const { seen, options } = capture();
      await failureOf(lastValueFrom(call({ ...options, metadata: { ...options.metadata, 'x-test-status': '9' } })));
      expect(seen.trailer?.get('x-test-trailer')).toEqual(['kept']);
    }
  });
});
