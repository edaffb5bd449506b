import { randomUUID } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Controller, Get, Headers, Module, type INestApplication, type INestMicroservice } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { GrpcMethod, Transport } from '@nestjs/microservices';
import { FastifyAdapter } from '@nestjs/platform-fastify';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CurrentSecurityContext,
  InjectMeshClient,
  MeshCallOptions,
  MeshClientModule,
  MeshClientRegistry,
  MeshContext,
  isMeshClientError,
  type MeshCall,
  type MeshClient,
  type MeshClientPlugin,
  type MeshSecurityContext,
  type MeshTrustedHeader,
} from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { failureOf } from '../support/errors.js';
import { LogCapture } from '../support/log-capture.js';
import { ECHO_PROTO, type EchoReply, type EchoRequest } from '../support/protos.js';
import { createTestApp, echoClient } from '../support/test-app.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
/** Every part of an incoming request's context: these hops trust their callers (opted in; the default trusts no token or tenant). */
const TRUST_ALL: MeshTrustedHeader[] = ['traceparent', 'requestId', 'deadline', 'token', 'tenant'];
const meshTo = (target: string, extra = {}) =>
  MeshClientModule.forRoot({
    contextExtraKeys: ['x-feature'],
    trustIncoming: TRUST_ALL,
    clients: [echoClient(target, { name: 'next', retry: false, ...extra })],
  });

/** App B: a Nest gRPC microservice whose Unary handler calls the next hop. */
@Controller()
class RelayController {
  constructor(@InjectMeshClient('next') private readonly next: MeshClient) {}

  @GrpcMethod('Echo', 'Unary')
  unary(request: EchoRequest): Promise<EchoReply> {
    return lastValueFrom(this.next.unary<EchoRequest, EchoReply>('Unary', request));
  }
}

/** App A: the HTTP front. */
@Controller()
class FrontController {
  constructor(@InjectMeshClient('next') private readonly next: MeshClient) {}

  @Get('relay')
  relay(): Promise<EchoReply> {
    return lastValueFrom(this.next.unary<EchoRequest, EchoReply>('Unary', { message: 'from-http' }));
  }

  @Get('whoami')
  whoami(): Promise<EchoReply> {
    return lastValueFrom(this.next.unary<EchoRequest, EchoReply>('Unary', {}, { metadata: { 'x-test-echo-header': 'authorization' } }));
  }

  @Get('ctx')
  ctx(@CurrentSecurityContext() ctx: MeshSecurityContext, @Headers('x-check') _check: string): MeshSecurityContext {
    return ctx;
  }

  @Get('slow')
  @MeshCallOptions({ timeoutMs: 150 })
  slow(): Promise<unknown> {
    return lastValueFrom(this.next.unary('Unary', {}, { metadata: { 'x-test-delay-ms': '2000' } })).catch((e: unknown) => ({
      category: isMeshClientError(e) ? e.category : 'other',
    }));
  }
}

/** A controller's @MeshCallOptions and a handler's of its own: merged field by field. */
@Controller('merged')
@MeshCallOptions({ timeoutMs: 150 })
class MergedOptionsController {
  constructor(@InjectMeshClient('next') private readonly next: MeshClient) {}

  @Get('slow')
  @MeshCallOptions({ retry: false })
  slow(): Promise<unknown> {
    return lastValueFrom(this.next.unary('Unary', {}, { metadata: { 'x-test-delay-ms': '2000' } })).catch((e: unknown) => ({
      category: isMeshClientError(e) ? e.category : 'other',
    }));
  }
}

async function httpApp(target: string, fastify = false): Promise<INestApplication> {
  @Module({ imports: [meshTo(target)], controllers: [FrontController, MergedOptionsController] })
  class FrontModule {}
  const app = fastify
    ? await NestFactory.create(FrontModule, new FastifyAdapter(), { logger: false })
    : await NestFactory.create(FrontModule, { logger: false });
  await app.listen(0, '127.0.0.1');
  return app;
}

describe('security context propagation', () => {
  let c: EchoServer;
  let b: INestMicroservice;
  let a: INestApplication;
  let aFastify: INestApplication;
  let logs: LogCapture;
  const socket = join(mkdtempSync(join(tmpdir(), 'mesh-b-')), 'b.sock');

  beforeAll(async () => {
    logs = LogCapture.install();
    c = await startEchoServer();
    @Module({ imports: [meshTo(c.target)], controllers: [RelayController] })
    class RelayModule {}
    b = await NestFactory.createMicroservice(RelayModule, {
      transport: Transport.GRPC,
      options: { url: `unix:${socket}`, package: 'mesh.test', protoPath: ECHO_PROTO },
      logger: false,
    });
    await b.listen();
    a = await httpApp(`unix:${socket}`);
    aFastify = await httpApp(c.target, true);
  });
  afterAll(async () => {
    LogCapture.uninstall();
    await Promise.all([a.close(), aFastify.close(), b.close()]);
    await c.stop();
  });

  it('two hops (HTTP -> A -> gRPC -> B -> gRPC -> C): C gets the same request id, token, tenant, trace id and an earlier deadline', async () => {
    const started = Date.now();
    const res = await fetch(`${await a.getUrl()}/relay`, {
      headers: {
        authorization: 'Bearer tok-two-hops',
        'x-request-id': 'req-2hops',
        'x-tenant-id': 'tenant-7',
        traceparent: `00-${TRACE_ID}-00f067aa0ba902b7-01`,
        'grpc-timeout': '2S',
        cookie: 'session=never-forwarded',
      },
    });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ message: 'from-http' });
    const md = c.metadataSeen.at(-1)!;
    expect(md.get('authorization')).toEqual(['Bearer tok-two-hops']);
    expect(md.get('x-request-id')).toEqual(['req-2hops']);
    expect(md.get('x-tenant-id')).toEqual(['tenant-7']);
    expect(String(md.get('traceparent')[0])).toContain(TRACE_ID);
    expect(md.get('cookie')).toEqual([]);
    // C's remaining time when its request arrived is within the original 2 s (not the 30 s default).
    const deadline = new Date(c.deadlines.at(-1)!).getTime();
    const remainingAtC = deadline - c.arrivedAt.at(-1)!;
    expect(remainingAtC).toBeLessThanOrEqual(2000);
    expect(remainingAtC).toBeGreaterThan(1000);
    expect(deadline).toBeLessThanOrEqual(Date.now() + 2000);
    expect(started).toBeGreaterThan(0);
  });

  it('Fastify too; a missing x-request-id is generated', async () => {
    const res = await fetch(`${await aFastify.getUrl()}/whoami`, { headers: { authorization: 'Bearer tok-fastify' } });
    expect(await res.json()).toMatchObject({ message: 'Bearer tok-fastify' });
    expect(String(c.metadataSeen.at(-1)!.get('x-request-id')[0])).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('1,000 concurrent HTTP requests with distinct tokens: every outgoing call carries its own token only', async () => {
    const url = `${await aFastify.getUrl()}/whoami`;
    const tokens = Array.from({ length: 1000 }, () => `tok-${randomUUID()}`);
    const seen = await Promise.all(
      tokens.map((t) => fetch(url, { headers: { authorization: `Bearer ${t}` } }).then((r) => r.json() as Promise<EchoReply>)),
    );
    expect(seen.map((r) => r.message)).toEqual(tokens.map((t) => `Bearer ${t}`));
  });

  it('@CurrentSecurityContext hands the handler its context; @MeshCallOptions sets the timeout of its calls', async () => {
    const url = await a.getUrl();
    const ctx = (await (
      await fetch(`${url}/ctx`, { headers: { 'x-tenant-id': 'acme', authorization: 'Bearer tok-ctx' } })
    ).json()) as MeshSecurityContext;
    expect(ctx).toMatchObject({ tenant: 'acme', token: 'tok-ctx' });
    const started = performance.now();
    expect(await (await fetch(`${await aFastify.getUrl()}/slow`)).json()).toEqual({ category: 'timeout' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it("a handler's @MeshCallOptions over its controller's: field by field (the controller's timeoutMs stays beside the handler's retry)", async () => {
    const started = performance.now();
    expect(await (await fetch(`${await aFastify.getUrl()}/merged/slow`)).json()).toEqual({ category: 'timeout' });
    expect(performance.now() - started).toBeLessThan(1000);
  });

  it('incoming gRPC metadata is checked as HTTP headers are: a bad traceparent dropped, an unusable request id replaced', async () => {
    const client = await createTestApp({ clients: [echoClient(`unix:${socket}`, { name: 'to-b', retry: false })] });
    const bad = { traceparent: '00-zzzz-not-trace-context', 'x-request-id': 'r'.repeat(200), 'x-tenant-id': 'grpc-tenant' };
    await lastValueFrom(client.get(MeshClientRegistry).get('to-b').unary('Unary', {}, { metadata: bad }));
    const md = c.metadataSeen.at(-1)!;
    expect(md.get('traceparent')).toEqual([]);
    expect(String(md.get('x-request-id')[0])).toMatch(/^[0-9a-f-]{36}$/);
    expect(md.get('x-tenant-id')).toEqual(['grpc-tenant']);
    await client.close();
  });

  it('no token appears in any log line', () => {
    const text = logs.lines.join('\n');
    expect(text).not.toMatch(/tok-/);
  });
});

describe('context outside HTTP, metadata rules', () => {
  let server: EchoServer;

  beforeAll(async () => {
    server = await startEchoServer();
  });
  afterAll(() => server.stop());

  it('MeshContext.run sets the context for calls inside it; only allowed extra keys leave the process', async () => {
    const app = await createTestApp({
      contextExtraKeys: ['x-feature'],
      clients: [echoClient(server.target, { metadata: async (ctx) => ({ 'x-subject': ctx?.subject ?? 'none' }) })],
    });
    const echo = app.get(MeshClientRegistry).get('echo');
    const context = app.get(MeshContext);
    await context.run({ token: 'tok-run', subject: 'alice', extra: { 'x-feature': 'on', 'x-secret-note': 'stay-home' } }, () =>
      lastValueFrom(echo.unary('Unary', {})),
    );
    const md = server.metadataSeen.at(-1)!;
    expect(md.get('authorization')).toEqual(['Bearer tok-run']);
    expect(md.get('x-subject')).toEqual(['alice']);
    expect(md.get('x-feature')).toEqual(['on']);
    expect(md.get('x-secret-note')).toEqual([]);
    await lastValueFrom(echo.unary('Unary', {}));
    expect(server.metadataSeen.at(-1)!.get('authorization')).toEqual([]);
    expect(() => context.set({ tenant: 'x' })).toThrow(/no request context is active/);
    await app.close();
  });

  it('a context deadline that is no valid Date fails the call as invalid-request, naming it, before any network I/O; a Date in the past ends it as a timeout', async () => {
    const app = await createTestApp({ clients: [echoClient(server.target, { retry: false })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    const context = app.get(MeshContext);
    try {
      const before = server.calls.length;
      for (const [deadline, got] of [
        [Date.now() + 1000, 'a number'],
        ['soon', 'a string'],
        [new Date('x'), 'an Invalid Date'],
      ] as const) {
        const error = await context.run({ deadline: deadline as never }, () => failureOf(lastValueFrom(echo.unary('Unary', {}))));
        expect(error).toMatchObject({ category: 'invalid-request', attempts: 0 });
        expect(error.message).toContain(`the security context's deadline (MeshContext) must be a valid Date, got ${got}`);
      }
      expect(server.calls.length).toBe(before);
      const past = await context.run({ deadline: new Date(Date.now() - 1) }, () => failureOf(lastValueFrom(echo.unary('Unary', {}))));
      expect(past).toMatchObject({ category: 'timeout' });
    } finally {
      await app.close();
    }
  });

  it.each<[string, Record<string, string | Buffer>, RegExp]>([
    ['an uppercase key', { 'X-Upper': 'v' }, /metadata key 'X-Upper' is invalid/],
    ['a reserved grpc- key', { 'grpc-timeout': '1S' }, /reserved for gRPC/],
    ['a CR/LF in a value', { 'x-note': 'a\r\nb' }, /'x-note' has a value with characters gRPC cannot send/],
    ['a Buffer on a text key', { 'x-raw': Buffer.from('b') }, /need a key ending in '-bin'/],
    ['more than 8 KiB', { 'x-big': 'x'.repeat(9000) }, /metadata of \d+ bytes is over the limit of 8192 \(maxMetadataBytes\)/],
    ['a token with a newline', { authorization: 'Bearer tok-leak\n' }, /'authorization' has a value with characters gRPC cannot send/],
  ])('%s fails with invalid-request before any network I/O', async (_label, metadata, message) => {
    const app = await createTestApp({ clients: [echoClient(server.target)] });
    const before = server.calls.length;
    const error = await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}, { metadata })).catch((e: unknown) => e);
    expect(error).toMatchObject({ category: 'invalid-request', attempts: 0 });
    expect((error as Error).message).toMatch(message);
    expect(`${(error as Error).message} ${String((error as Error).cause)}`).not.toMatch(/tok-leak|a\r\nb/);
    expect(server.calls.length).toBe(before);
    await app.close();
  });

  it("an entry the call's metadata replaces counts once: a client's 5 KB entry replaced by the call's 5 KB is under 8 KiB", async () => {
    const app = await createTestApp({ clients: [echoClient(server.target, { metadata: { 'x-big': 'c'.repeat(5000) } })] });
    try {
      const metadata = { 'x-big': 'o'.repeat(5000) };
      expect(await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', { message: 'once' }, { metadata }))).toMatchObject({
        message: 'once',
      });
      expect(server.metadataSeen.at(-1)!.get('x-big')).toEqual(['o'.repeat(5000)]);
      const more = { 'x-big': 'o'.repeat(5000), 'x-more': 'm'.repeat(4000) };
      const error = await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}, { metadata: more })).catch((e: unknown) => e);
      expect((error as Error).message).toMatch(/metadata of 9011 bytes is over the limit of 8192 \(maxMetadataBytes\)/);
    } finally {
      await app.close();
    }
  });

  it("with plugins, an attempt's metadata counts as the caller's check counts it: a retry's grpc-previous-rpc-attempts is not the caller's, a number a plugin sets counts as its text", async () => {
    const plugin: MeshClientPlugin = { name: 'numbers', beforeAttempt: (attempt) => void attempt.metadata.set('x-try', attempt.attempt as never) };
    const app = await createTestApp({
      clients: [echoClient(server.target, { plugins: [plugin], retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20 } })],
    });
    try {
      // what the caller sends fills the limit but for the plugin's 6 bytes ('x-try' + '1')
      const steering = { 'x-test-fail-times': '1', 'x-test-call-id': randomUUID() };
      const used = Object.entries(steering).reduce((n, [k, v]) => n + k.length + v.length, 0);
      const metadata = { ...steering, 'x-fill': 'f'.repeat(8192 - used - 'x-fill'.length - 6) };
      expect(await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', { message: 'near' }, { metadata }))).toMatchObject({
        message: 'near',
      });
      expect(server.metadataSeen.at(-1)!.get('x-try')).toEqual(['2']); // the second attempt went out
    } finally {
      await app.close();
    }
  });

  const BIG = 'x'.repeat(9000);
  const isBig = (call: MeshCall): boolean => (call.request as { message?: string } | undefined)?.message === 'big';
  it.each([
    ['intercept', { name: 'big-intercept', intercept: (call, next) => (isBig(call) && call.metadata.set('x-big', BIG), next.handle(call)) }],
    ['beforeAttempt', { name: 'big-before', beforeAttempt: (attempt) => void (isBig(attempt.call) && attempt.metadata.set('x-big', BIG)) }],
  ] as [string, MeshClientPlugin][])(
    'metadata a plugin adds in %s counts against maxMetadataBytes: the call fails naming the limit, nothing is sent, a call beside it is unharmed',
    async (_hook, plugin) => {
      const app = await createTestApp({
        clients: [echoClient(server.target, { plugins: [plugin], retry: { maxAttempts: 3, initialBackoffMs: 10, maxBackoffMs: 20 } })],
      });
      const echo = app.get(MeshClientRegistry).get('echo');
      try {
        const before = server.calls.length;
        const beside = lastValueFrom(echo.unary('Unary', { message: 'beside' }, { metadata: { 'x-test-delay-ms': '300' } }));
        const error = await failureOf(lastValueFrom(echo.unary('Unary', { message: 'big' })));
        expect(error).toMatchObject({ category: 'internal', retryable: false, attempts: 0 });
        expect(error.message).toMatch(/metadata of \d+ bytes is over the limit of 8192 \(maxMetadataBytes\) once the plugins' hooks/);
        expect(await beside).toMatchObject({ message: 'beside' });
        expect(server.calls.length - before).toBe(1); // only the call beside it
        expect(echo.breakerState()).toBe('closed');
      } finally {
        await app.close();
      }
    },
  );
});
