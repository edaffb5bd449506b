import { fileURLToPath } from 'node:url';
import { Server, ServerCredentials, loadPackageDefinition, type ServerUnaryCall, type ServiceDefinition, type sendUnaryData } from '@grpc/grpc-js';
import type { TestingModule } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, type MeshClient } from '@datapunk/mesh-client';
import { messagesOf, settleOf, summary, useUncaughtCollector } from '../support/call-guards.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { loadServerProto } from '../support/protos.js';
import { createTestApp, echoClient } from '../support/test-app.js';

// Issue #30 "values": on da6cde0 int64 fields wrapped silently ('9223372036854775808' arrived as
// -9223372036854775808, '18446744073709551617' as 1, 1e300 as INT64_MAX), a Date or a Map given as
// a message was sent empty, a Map as CallOptions.metadata was ignored and inherited prototype
// properties were sent unchecked. Each must fail 'invalid-request' naming the path, nothing sent.
const uncaught = useUncaughtCollector();
const DEFAULTS_PROTO = fileURLToPath(new URL('../support/protos/defaults.proto', import.meta.url));

/** A grpc-js server of mesh.defaults.Shapes answering each request with itself; counts what arrives. */
class ShapesServer {
  readonly server = new Server();
  readonly received: unknown[] = [];
  port = 0;

  constructor() {
    const pkg = loadPackageDefinition(loadServerProto(DEFAULTS_PROTO)) as unknown as {
      mesh: { defaults: { Shapes: { service: ServiceDefinition } } };
    };
    const echo = (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>): void => {
      this.received.push(call.request);
      cb(null, call.request);
    };
    this.server.addService(pkg.mesh.defaults.Shapes.service, { Everything: echo, Scalars: echo, Tree: echo, Wrapped: echo });
  }

  async start(): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, port) => (e ? reject(e) : resolve(port))),
    );
    return this;
  }
}

/** A class whose instances inherit a field from their prototype. */
class Inheriting {
  declare text: string;
}
Inheriting.prototype.text = 'inherited';

describe('request values out of their field type', () => {
  let shapes: ShapesServer;
  let echoServer: EchoServer;
  let app: TestingModule;
  const client = (name: string): MeshClient => app.get(MeshClientRegistry).get(name);

  beforeAll(async () => {
    shapes = await new ShapesServer().start();
    echoServer = await startEchoServer();
    app = await createTestApp({
      clients: [
        {
          name: 'shapes',
          target: `127.0.0.1:${String(shapes.port)}`,
          insecure: true,
          retry: false,
          proto: { path: DEFAULTS_PROTO, package: 'mesh.defaults', service: 'Shapes' },
        },
        echoClient(echoServer.target, { retry: false }),
      ],
    });
  });
  afterAll(async () => {
    await app.close();
    shapes.server.forceShutdown();
    await echoServer.stop();
  });

  it.each([
    ['int64 9223372036854775808 (a string)', 'request.i64', { i64: '9223372036854775808' }],
    ['uint64 18446744073709551617 (a string)', 'request.u64', { u64: '18446744073709551617' }],
    ['int64 1e300', 'request.i64', { i64: 1e300 }],
    ['uint64 -1', 'request.u64', { u64: -1 }],
    ['int64 1.5', 'request.i64', { i64: 1.5 }],
    ['int32 1.5', 'request.i32', { i32: 1.5 }],
  ])('Scalars with %s: invalid-request naming %s, nothing sent', async (_what, path, request) => {
    const before = shapes.received.length;
    const settled = await settleOf(client('shapes').unary('Scalars', request), 3000);
    expect(summary(settled)).toMatchObject({ kind: 'error', category: 'invalid-request' });
    expect(summary(settled).message).toContain(path);
    expect(shapes.received.length).toBe(before);
  });

  it.each([
    ['uint64 18446744073709551617 in a nested message', 'request.scalars.u64', { scalars: { u64: '18446744073709551617' } }],
    ['a Date as a nested message', 'request.scalars', { scalars: new Date() }],
    ['a Map as a nested message', 'request.inner', { inner: new Map([['label', 'x']]) }],
    ['a Map as a repeated message', 'request.inners[0]', { inners: [new Map()] }],
    [
      'a class instance whose field comes from its prototype, nested',
      'request.inner.label',
      { inner: Object.create({ label: 'inherited' }) as object },
    ],
  ])('Everything with %s: invalid-request naming %s, nothing sent', async (_what, path, request) => {
    const before = shapes.received.length;
    const settled = await settleOf(client('shapes').unary('Everything', request), 3000);
    expect(summary(settled)).toMatchObject({ kind: 'error', category: 'invalid-request' });
    expect(summary(settled).message).toContain(path);
    expect(shapes.received.length).toBe(before);
  });

  it.each([
    ['a Date', () => new Date()],
    ['a Map', () => new Map([['text', 'x']])],
  ])('%s given as the message: invalid-request, nothing sent', async (_what, request) => {
    const before = shapes.received.length;
    const settled = await settleOf(client('shapes').unary('Scalars', request()), 3000);
    expect(summary(settled)).toMatchObject({ kind: 'error', category: 'invalid-request' });
    expect(shapes.received.length).toBe(before);
  });

  it('a class instance whose field comes from its prototype: invalid-request naming request.text', async () => {
    const before = shapes.received.length;
    const settled = await settleOf(client('shapes').unary('Scalars', new Inheriting()), 3000);
    expect(summary(settled)).toMatchObject({ kind: 'error', category: 'invalid-request' });
    expect(summary(settled).message).toContain('request.text');
    expect(shapes.received.length).toBe(before);
  });

  it('values in range still go through exactly (the largest uint64, the smallest int64 as strings)', async () => {
    const settled = await settleOf(client('shapes').unary('Scalars', { u64: '18446744073709551615', i64: '-9223372036854775808' }), 3000);
    expect(summary(settled)).toEqual({ kind: 'complete' });
    expect(shapes.received.at(-1)).toMatchObject({ u64: '18446744073709551615', i64: '-9223372036854775808' });
  });

  it('a Map as CallOptions.metadata: invalid-request, nothing sent', async () => {
    const before = echoServer.calls.length;
    const metadata = new Map([['x-test-status', '5']]) as never;
    const settled = await settleOf(client('echo').unary('Unary', {}, { metadata }), 3000);
    expect(summary(settled)).toMatchObject({ kind: 'error', category: 'invalid-request' });
    expect(echoServer.calls.length).toBe(before);
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });
});
