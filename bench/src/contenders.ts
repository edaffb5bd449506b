import 'reflect-metadata';
import { Client, Metadata, credentials } from '@grpc/grpc-js';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ClientGrpcProxy } from '@nestjs/microservices';
import { createChannel, createClientFactory } from 'nice-grpc';
import { deadlineMiddleware } from 'nice-grpc-client-middleware-deadline';
import { retryMiddleware } from 'nice-grpc-client-middleware-retry';
import { Subject, lastValueFrom, type Observable } from 'rxjs';
import { MeshClientModule, MeshClientRegistry, MeshContext, type MeshClient, type MeshClientOptions } from '@datapunk/mesh-client';
import { ECHO_PROTO, REQUEST, echoService } from './proto.js';

/** One way of calling the echo server. */
export interface Contender {
  readonly name: string;
  unary(): Promise<unknown>;
  /** Runs `fn` in the contender's calling context (the mesh client's CLS request context). */
  around<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

const plain = <T>(fn: () => Promise<T>): Promise<T> => fn();
const unaryDef = echoService.Unary!;

/** grpc-js as it comes: a generic client, one makeUnaryRequest per call. */
export function rawContender(target: string): Contender & { client: Client } {
  const client = new Client(target, credentials.createInsecure(), {});
  const ser = unaryDef.requestSerialize;
  const des = unaryDef.responseDeserialize;
  return {
    name: 'raw grpc-js',
    client,
    unary: () =>
      new Promise((resolve, reject) =>
        client.makeUnaryRequest(unaryDef.path, ser, des, REQUEST, new Metadata(), { deadline: Date.now() + 30_000 }, (e, v) =>
          e ? reject(e) : resolve(v),
        ),
      ),
    around: plain,
    close: async () => client.close(),
  };
}

export const ALL_ON: Partial<MeshClientOptions> = {};
export const ALL_OFF: Partial<MeshClientOptions> = { retry: false, breaker: false, metrics: false, tracing: false };

/** @datapunk/mesh-client in a Nest application context. */
export async function meshContender(
  name: string,
  target: string,
  options: Partial<MeshClientOptions>,
  withContext: boolean,
): Promise<Contender & { mesh: MeshClient; app: INestApplicationContext }> {
  @Module({
    imports: [
      MeshClientModule.forRoot({
        clients: [{ name: 'echo', target, insecure: true, proto: { path: ECHO_PROTO, package: 'mesh.test', service: 'Echo' }, ...options }],
      }),
    ],
  })
  class BenchModule {}
  const app = await NestFactory.createApplicationContext(BenchModule, { logger: ['error'] });
  const mesh = app.get(MeshClientRegistry).get('echo');
  const context = app.get(MeshContext);
  return {
    name,
    mesh,
    app,
    unary: () => lastValueFrom(mesh.unary('Unary', REQUEST)),
    around: withContext ? (fn) => context.run({ token: 'bench-token-0123456789', requestId: 'bench', tenant: 'bench' }, fn) : plain,
    close: () => app.close(),
  };
}

/** Nest's own gRPC client. */
export function nestProxyContender(target: string): Contender {
  const proxy = new ClientGrpcProxy({ url: target, package: 'mesh.test', protoPath: ECHO_PROTO });
  const svc = proxy.getService<{ Unary(req: unknown): Observable<unknown> }>('Echo');
  return { name: 'Nest ClientGrpcProxy', unary: () => lastValueFrom(svc.Unary(REQUEST)), around: plain, close: async () => proxy.close() };
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
  return { name: 'nice-grpc (retry+deadline)', unary: () => client.Unary(REQUEST), around: plain, close: async () => channel.close() };
}

/** One bidi stream with `inFlight` messages outstanding, for `ms`: messages per second. */
export async function bidiRaw(client: Client, inFlight: number, ms: number): Promise<number> {
  const def = echoService.Bidi!;
  const call = client.makeBidiStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, new Metadata(), {});
  return pump(
    (m) => call.write(m),
    (onData) => call.on('data', onData),
    () => call.end(),
    inFlight,
    ms,
  );
}

export async function bidiMesh(mesh: MeshClient, inFlight: number, ms: number): Promise<number> {
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
