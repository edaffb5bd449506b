import 'reflect-metadata';
import { AsyncLocalStorage } from 'node:async_hooks';
import { Client, Metadata, credentials, type StatusObject } from '@grpc/grpc-js';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientGrpcProxy } from '@nestjs/microservices';
import { createChannel, createClientFactory } from 'nice-grpc';
import { deadlineMiddleware } from 'nice-grpc-client-middleware-deadline';
import { retryMiddleware } from 'nice-grpc-client-middleware-retry';
import { ClsService } from 'nestjs-cls';
import { Subject, lastValueFrom, type Observable } from 'rxjs';
import {
  MeshClientModule,
  MeshClientRegistry,
  MeshContext,
  type MeshClient,
  type MeshClientOptions,
  type MeshClientPlugin,
  type MeshModuleOptions,
} from '@datapunk/mesh-client';
import { NAMES } from './names.js';
import { ECHO_PROTO, REQUEST, echoService } from './proto.js';

/** One way of calling the echo server. */
export interface Contender {
  readonly name: string;
  unary(): Promise<unknown>;
  close(): Promise<void>;
}

const unaryDef = echoService.Unary!;

/** The raw floor: a plain grpc-js unary call (`Client.makeUnaryRequest`, no metadata, no options). */
export function rawContender(target: string, name: string = NAMES.raw): Contender & { client: Client } {
  const client = new Client(target, credentials.createInsecure(), {});
  const ser = unaryDef.requestSerialize;
  const des = unaryDef.responseDeserialize;
  return {
    name,
    client,
    unary: () => new Promise((resolve, reject) => client.makeUnaryRequest(unaryDef.path, ser, des, REQUEST, (e, v) => (e ? reject(e) : resolve(v)))),
    close: async () => client.close(),
  };
}

/** The context every context-per-call row carries. */
const CONTEXT = { token: 'bench-token-0123456789', tenant: 'bench' } as const;
let requestIds = 0;

/**
 * grpc-js doing the wire work the mesh client asks of it per call, and nothing else: a fresh
 * Metadata with the context's three entries (token, request id, tenant) and a 30 s deadline. The
 * gap between this row and the raw floor is the cost of the features on the wire; the gap between
 * this row and the mesh client is the library's own. With `cls`, each call runs in its own
 * nestjs-cls scope holding the context and reads it from there, as a Nest app with a per-request
 * scope does with or without the library (the row the library's own cost is measured against).
 */
export function rawSameWireContender(target: string, cls?: ClsService): Contender & { client: Client } {
  const client = new Client(target, credentials.createInsecure(), {});
  const ser = unaryDef.requestSerialize;
  const des = unaryDef.responseDeserialize;
  const call = (ctx: { token: string; tenant: string; requestId: string }): Promise<unknown> =>
    new Promise((resolve, reject) => {
      const metadata = new Metadata();
      metadata.set('authorization', `Bearer ${ctx.token}`);
      metadata.set('x-request-id', ctx.requestId);
      metadata.set('x-tenant-id', ctx.tenant);
      client.makeUnaryRequest(unaryDef.path, ser, des, REQUEST, metadata, { deadline: Date.now() + 30_000 }, (e, v) => (e ? reject(e) : resolve(v)));
    });
  const inScope = (scope: ClsService): Promise<unknown> =>
    scope.run(() => {
      scope.set('context', Object.freeze({ ...CONTEXT, requestId: `req-${String(++requestIds)}` }));
      return call(scope.get('context'));
    });
  return {
    name: cls ? NAMES.wireScoped : NAMES.wire,
    client,
    unary: cls ? () => inScope(cls) : () => call({ ...CONTEXT, requestId: `req-${String(++requestIds)}` }),
    close: async () => client.close(),
  };
}

/** A nestjs-cls ClsService of its own (outside Nest, on a fresh AsyncLocalStorage). */
export const standaloneCls = (): ClsService => new ClsService(new AsyncLocalStorage());

/** grpc-js with the deadline "everything off" still sets (30 s), no metadata: that row's floor. */
export function rawDeadlineContender(target: string): Contender & { client: Client } {
  const client = new Client(target, credentials.createInsecure(), {});
  const ser = unaryDef.requestSerialize;
  const des = unaryDef.responseDeserialize;
  return {
    name: NAMES.deadline,
    client,
    unary: () =>
      new Promise((resolve, reject) =>
        client.makeUnaryRequest(unaryDef.path, ser, des, REQUEST, new Metadata(), { deadline: Date.now() + 30_000 }, (e, v) =>
          e ? reject(e) : resolve(v),
        ),
      ),
    close: async () => client.close(),
  };
}

export const ALL_ON: Partial<MeshClientOptions> = {};
export const ALL_OFF: Partial<MeshClientOptions> = { retry: false, breaker: false, metrics: false, tracing: false };

/** A plugin implementing every hook, doing nothing: what the plugin machinery itself costs. */
export const NOOP_PLUGIN: MeshClientPlugin = {
  name: 'noop',
  appliesTo: () => true,
  intercept: (call, next) => next.handle(call),
  beforeAttempt: () => undefined,
  onHeaders: () => undefined,
  afterAttempt: () => undefined,
};

/** A Nest application context with one mesh client 'echo' (more options: `module`). */
export async function meshApp(
  target: string,
  options: Partial<MeshClientOptions>,
  module: Partial<MeshModuleOptions> = {},
): Promise<{ app: INestApplicationContext; mesh: MeshClient; context: MeshContext }> {
  @Module({
    imports: [
      MeshClientModule.forRoot({
        ...module,
        clients: [
          { name: 'echo', target, insecure: true, proto: { path: ECHO_PROTO, package: 'mesh.test', service: 'Echo' }, ...options },
          ...(module.clients ?? []),
        ],
      }),
    ],
  })
  class BenchModule {}
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  return { app, mesh: app.get(MeshClientRegistry).get('echo'), context: app.get(MeshContext) };
}

/**
 * @datapunk/mesh-client in a Nest application context. With `contextPerCall`, each call runs in its
 * own `MeshContext.run({ token, requestId, tenant })`, as a gateway sets it per request: the
 * context goes into the call's metadata. `promise` calls `request()` (the Promise entry) instead
 * of subscribing to `unary()`.
 */
export async function meshContender(
  name: string,
  target: string,
  options: Partial<MeshClientOptions>,
  contextPerCall: boolean,
  module: Partial<MeshModuleOptions> = {},
  promise = false,
): Promise<Contender & { mesh: MeshClient; app: INestApplicationContext }> {
  const { app, mesh, context } = await meshApp(target, options, module);
  const call = promise ? (): Promise<unknown> => mesh.request('Unary', REQUEST) : (): Promise<unknown> => lastValueFrom(mesh.unary('Unary', REQUEST));
  return {
    name,
    mesh,
    app,
    unary: contextPerCall ? () => context.run({ ...CONTEXT, requestId: `req-${String(++requestIds)}` }, call) : call,
    close: () => app.close(),
  };
}

/** Nest's own gRPC client. */
export function nestProxyContender(target: string): Contender {
  const proxy = new ClientGrpcProxy({ url: target, package: 'mesh.test', protoPath: ECHO_PROTO });
  const svc = proxy.getService<{ Unary(req: unknown): Observable<unknown> }>('Echo');
  return { name: NAMES.nest, unary: () => lastValueFrom(svc.Unary(REQUEST)), close: async () => proxy.close() };
}

/** nice-grpc with its retry and deadline middleware. */
export function niceContender(target: string): Contender {
  const channel = createChannel(target);
  const client = createClientFactory()
    .use(retryMiddleware)
    .use(deadlineMiddleware)
    .create(echoService as never, channel, { '*': { deadline: 30_000, retryMaxAttempts: 2 } }) as unknown as {
    Unary(req: unknown): Promise<unknown>;
  };
  return { name: NAMES.nice, unary: () => client.Unary(REQUEST), close: async () => channel.close() };
}

/** A bidi contender: one stream with `inFlight` messages outstanding, for `ms`: messages per second. */
export interface BidiContender {
  readonly name: string;
  run(inFlight: number, ms: number): Promise<number>;
}

export function bidiRaw(client: Client, name: string = NAMES.raw): BidiContender {
  const def = echoService.Bidi!;
  return {
    name,
    run: async (inFlight, ms) => {
      const call = client.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, new Metadata(), {});
      // The stream's end is awaited (its status, after the timed slice), so none is left open to be
      // cancelled by the client's close, whose 'error' would be unhandled; the status carries any error.
      const closed = new Promise<StatusObject>((resolve) => call.on('status', resolve));
      call.on('error', () => undefined);
      const rate = await pump(
        (m) => call.write(m),
        (onData) => call.on('data', onData),
        () => call.end(),
        inFlight,
        ms,
      );
      const status = await closed;
      if (status.code !== 0) throw new Error(`bidi stream ended with ${String(status.code)} ${status.details}`);
      return rate;
    },
  };
}

export function bidiMesh(mesh: MeshClient, name: string = NAMES.all): BidiContender {
  return {
    name,
    run: async (inFlight, ms) => {
      const requests = new Subject<unknown>();
      let onData: () => void = () => undefined;
      const sub = mesh.bidiStream('Bidi', requests).subscribe({ next: () => onData(), error: () => undefined });
      const rate = await pump(
        (m) => requests.next(m),
        (f) => (onData = f),
        () => requests.complete(),
        inFlight,
        ms,
      );
      sub.unsubscribe();
      return rate;
    },
  };
}

async function pump(write: (m: unknown) => void, listen: (f: () => void) => void, end: () => void, inFlight: number, ms: number): Promise<number> {
  let received = 0;
  let stop = false;
  const t0 = performance.now();
  const done = new Promise<void>((resolve) => {
    listen(() => {
      received++;
      if (!stop) write({ message: 'm' });
      else resolve();
    });
  });
  for (let i = 0; i < inFlight; i++) write({ message: 'm' });
  await new Promise((r) => setTimeout(r, ms));
  stop = true;
  const rate = (received / (performance.now() - t0)) * 1000;
  end();
  await Promise.race([done, new Promise((r) => setTimeout(r, 200))]);
  return rate;
}
