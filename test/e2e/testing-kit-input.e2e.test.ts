import { fileURLToPath } from 'node:url';
import { lastValueFrom, of, toArray } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { isMeshConfigError } from '@datapunk/mesh-client';
import { MeshFake, fakeStatus } from '@datapunk/mesh-client/testing';
import { failureOf } from '../support/errors.js';
import { clientOfFake } from '../support/fake-client.js';
import { ECHO_PROTO, echoProto } from '../support/protos.js';

const PEERS_PROTO = fileURLToPath(new URL('../support/protos/peers.proto', import.meta.url));

/** Awaits a rejection and returns it (the test fails if the promise resolves). */
const thrown = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => Promise.reject(new Error('expected a failure')),
    (e: unknown) => e,
  );

describe('MeshFake: names and bad input', () => {
  it("handlers answer to the proto's RPC names and Nest's lowerCamel names (GetHTTPStatus as getHttpStatus, list_things as listThings)", async () => {
    const fake = await MeshFake.start(
      { path: PEERS_PROTO, package: 'peers' },
      {
        say: (req: { text: string }) => ({ text: `said ${req.text}` }),
        getHttpStatus: (req: { delayMs: number }) => ({ count: req.delayMs }),
        listThings: () => [{ text: 'a' }, { text: 'b' }],
        Collect: async (reqs: AsyncIterable<unknown>) => {
          const all: unknown[] = [];
          for await (const r of reqs) all.push(r);
          return { count: all.length };
        },
      },
    );
    const app = await clientOfFake(fake, { proto: { path: PEERS_PROTO, package: 'peers' } });
    try {
      expect(await lastValueFrom(app.echo.unary('Say', { text: 'hi' }))).toMatchObject({ text: 'said hi' });
      expect(await lastValueFrom(app.echo.unary('GetHTTPStatus', { delayMs: 7 }))).toMatchObject({ count: 7 });
      expect(await lastValueFrom(app.echo.serverStream('list_things', {}).pipe(toArray()))).toHaveLength(2);
      expect(await lastValueFrom(app.echo.clientStream('Collect', of({}, {})))).toMatchObject({ count: 2 });
      expect(fake.calls('getHttpStatus')).toHaveLength(1);
      expect(fake.calls('listThings')[0]).toMatchObject({ method: 'list_things' });
    } finally {
      await app.app.close();
      await fake.close();
    }
  });

  it("a missing handler's UNIMPLEMENTED names every name the handler may have", async () => {
    const fake = await MeshFake.start({ path: PEERS_PROTO, package: 'peers' }, {});
    const app = await clientOfFake(fake, { proto: { path: PEERS_PROTO, package: 'peers' } });
    try {
      const error = await failureOf(lastValueFrom(app.echo.unary('GetHTTPStatus', {})));
      expect(error.details).toBe(
        'MeshFake of peers.Peers has no handler for GetHTTPStatus (give handlers.GetHTTPStatus or handlers.getHttpStatus or handlers.getHTTPStatus)',
      );
    } finally {
      await app.app.close();
      await fake.close();
    }
  });

  const startError = (proto: unknown, handlers: unknown = {}, opts?: unknown) =>
    thrown(MeshFake.start(proto as never, handlers as never, opts as never));

  it('an unknown handler name fails start naming the RPCs', async () => {
    const error = await startError(echoProto, { Unary: () => ({}), GetItem: () => ({}) });
    expect(isMeshConfigError(error)).toBe(true);
    expect((error as Error).message).toBe(
      "MeshFake.start(handlers): mesh.test.Echo has no RPC 'GetItem' (its RPCs: Unary, ServerStream, ClientStream, Bidi)",
    );
  });

  it('a proto without the service, an unreadable file or a bad option fails start saying which', async () => {
    expect(((await startError({ path: ECHO_PROTO, package: 'mesh.test', service: 'Inventory' })) as Error).message).toBe(
      "MeshFake.start().proto.service names no service in the proto (looked for 'mesh.test.Inventory'; found: mesh.test.Echo), got 'Inventory'",
    );
    expect(((await startError({ path: '/nowhere/inventory.proto', package: 'demo' })) as Error).message).toMatch(
      /^MeshFake\.start\(\)\.proto\.path cannot be read/,
    );
    expect(((await startError(echoProto, { Unary: 'hello' })) as Error).message).toBe(
      'MeshFake.start(handlers): handlers.Unary must be a function (request, ctx) => response, got string',
    );
    expect(((await startError(echoProto, { Unary: () => ({}), unary: () => ({}) })) as Error).message).toMatch(/Unary is given twice/);
    expect(((await startError(echoProto, {}, { tsl: true })) as Error).message).toMatch(
      /MeshFake\.start\(opts\)\.tsl is not an option \(did you mean 'tls'\?\)/,
    );
  });

  it('scripting calls with bad arguments fail at once, naming the argument', async () => {
    const fake = await MeshFake.start(echoProto, {});
    try {
      expect(() => fake.failNext(1, 'UNAVAILBLE')).toThrow(/fake\.failNext\(\): code must be .*did you mean 'UNAVAILABLE'\?/);
      expect(() => fake.failNext(1, 0)).toThrow(/OK is no failure/);
      expect(() => fake.failNext(-1, 'INTERNAL')).toThrow(/fake\.failNext\(\)\.n must be an integer 0\.\./);
      expect(() => fake.delay(Number.NaN)).toThrow(/fake\.delay\(\)\.ms must be an integer/);
      expect(() => fake.hang('GetItem')).toThrow(
        "fake.hang(): mesh.test.Echo has no RPC 'GetItem' (its RPCs: Unary, ServerStream, ClientStream, Bidi)",
      );
      expect(() => fake.sendAfter(1, fakeStatus('INTERNAL'), 'Unary')).toThrow(
        /Unary answers with one message \(unary\); sendAfter applies to server- and bidi-streaming RPCs/,
      );
      expect(() => fake.sendAfter(1, 'INTERNAL' as never)).toThrow(/error must be an Error/);
      expect(() => fake.calls('Nope')).toThrow(/fake\.calls\(\): mesh\.test\.Echo has no RPC 'Nope'/);
      expect(() => fakeStatus('INTERNAL', 'x', { 'Bad Key': 'v' })).toThrow(/fakeStatus\(\): trailer 'Bad Key' cannot be sent/);
    } finally {
      await fake.close();
    }
  });
});
