import { ClientGrpcProxy } from '@nestjs/microservices';
import { loadSync } from '@grpc/proto-loader';
import { lastValueFrom, of, toArray, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, type MeshClient } from '@datapunk/mesh-client';
import { failureOf } from '../support/errors.js';
import { PEERS_PROTO, PeersServer, peersProto } from '../support/peers-server.js';
import { createTestApp } from '../support/test-app.js';
import type { TestingModule } from '@nestjs/testing';

interface PeersService {
  say(request: Record<string, unknown>, options?: unknown): Observable<Record<string, unknown>>;
}

describe('message field names, as Nest users write them', () => {
  let server: PeersServer;
  let app: TestingModule;
  let peers: MeshClient;
  let snake: MeshClient;
  let given: MeshClient;

  beforeAll(async () => {
    server = await new PeersServer().start();
    app = await createTestApp({
      defaults: { insecure: true, retry: false },
      clients: [
        { name: 'peers', target: server.target, proto: peersProto },
        { name: 'snake', target: server.target, proto: { ...peersProto, loader: { keepCase: true } } },
        // a definition loaded elsewhere with proto names (keepCase): either spelling is accepted
        {
          name: 'given',
          target: server.target,
          proto: { definition: loadSync(PEERS_PROTO, { keepCase: true }), package: 'peers', service: 'Peers' },
        },
      ],
    });
    const registry = app.get(MeshClientRegistry);
    [peers, snake, given] = [registry.get('peers'), registry.get('snake'), registry.get('given')];
  });
  afterAll(async () => {
    await app.close();
    server.stop();
  });

  it('a camelCase request arrives with its fields filled, and the response comes back in camelCase with ts-proto value types', async () => {
    const request = { text: 'hi', delayMs: 300, replyBytes: 3, inner: { innerName: 'x', kind: 1 }, bigNumber: 42, kind: 2 };
    const reply = await lastValueFrom(peers.unary<object, Record<string, unknown>>('Say', request));
    expect(server.seen('Say').at(-1)).toMatchObject({
      text: 'hi',
      delay_ms: 300,
      reply_bytes: 3,
      inner: { inner_name: 'x', kind: 'KIND_A' },
      big_number: '42',
      kind: 'KIND_B',
    });
    // numbers for int64 and enums, defaults filled, no virtual oneof field (ts-proto nestJs=true types)
    expect(reply).toEqual({
      text: 'hi',
      delayMs: 300,
      payload: Buffer.alloc(3, 1),
      inner: { innerName: 'x', kind: 1 },
      items: [],
      bigNumber: 42,
      kind: 2,
      count: 0,
    });
  });

  it('a Nest ClientGrpcProxy and a MeshClient from the same proto make the server see the same message and return the same shape', async () => {
    const proxy = new ClientGrpcProxy({ url: server.target, package: 'peers', protoPath: PEERS_PROTO });
    const request = {
      text: 'same',
      delayMs: 7,
      replyBytes: 2,
      inner: { innerName: 'i', kind: 2 },
      items: [{ innerName: 'a' }],
      byName: { k: { innerName: 'v' } },
      bigNumber: 5,
      kind: 1,
    };
    const viaNest = await lastValueFrom(proxy.getService<PeersService>('Peers').say(request));
    const seenByNest = server.seen('Say').at(-1);
    const viaMesh = await lastValueFrom(peers.getService<PeersService>().say(request));
    const seenByMesh = server.seen('Say').at(-1);
    proxy.close();
    expect(seenByMesh).toEqual(seenByNest);
    expect(seenByMesh).toMatchObject({ delay_ms: 7, items: [{ inner_name: 'a' }], by_name: { k: { inner_name: 'v' } } });
    // the same camelCase fields with the same values; Nest (no loader options) gives int64 as a
    // Long and leaves unset scalars out, where ts-proto's types have numbers and defaults
    const { bigNumber: nestLong, ...nestRest } = viaNest as { bigNumber: { toNumber(): number } };
    const { bigNumber, count, ...meshRest } = viaMesh;
    expect(meshRest).toEqual(nestRest);
    expect(bigNumber).toBe(nestLong.toNumber());
    expect(count).toBe(0);
    expect(viaNest).not.toHaveProperty('count');
  });

  it('refuses a field the message does not have, naming it and the nearest known field; the server sees nothing', async () => {
    const before = server.requests.length;
    const error = await failureOf(lastValueFrom(peers.unary('Say', { text: 'x', delay_ms: 300 })));
    expect(error).toMatchObject({ category: 'invalid-request', retryable: false, attempts: 0 });
    expect(error.details).toBe("'delay_ms' is not a field of peers.SayRequest; did you mean 'delayMs'?");
    expect(server.requests.length).toBe(before);
  });

  it.each([
    ['a nested message', { inner: { innerNam: 'x' } }, "'innerNam' is not a field of peers.Inner (at request.inner); did you mean 'innerName'?"],
    [
      'a repeated message',
      { items: [{ innerName: 'a' }, { inner_name: 'b' }] },
      "'inner_name' is not a field of peers.Inner (at request.items[1]); did you mean 'innerName'?",
    ],
    ['a map value', { byName: { k: { nmae: 'x' } } }, '\'nmae\' is not a field of peers.Inner (at request.byName["k"])'],
    ['a wrong scalar type', { delayMs: 'abc' }, 'request.delayMs must be a whole number in the int32 range, got a string'],
    ['an unknown enum name', { kind: 'KIND_Z' }, 'request.kind must be an enum value (an int32 number or a name), got a string'],
    ['a message where a scalar belongs', { text: { a: 1 } }, 'request.text must be a string, got an object'],
    ['null', null, 'the request must be an object (a peers.SayRequest message), got null'],
  ])('at any depth: %s', async (_what, request, message) => {
    const before = server.requests.length;
    const error = await failureOf(lastValueFrom(peers.unary('Say', request)));
    expect(error).toMatchObject({ category: 'invalid-request', attempts: 0 });
    expect(error.details).toContain(message);
    expect(server.requests.length).toBe(before);
  });

  it('takes enum names, 64-bit integers as strings, oneof members and an omitted request', async () => {
    await lastValueFrom(peers.unary('Say', { kind: 'KIND_A', bigNumber: '9007199254740993', firstChoice: 'one' }));
    expect(server.seen('Say').at(-1)).toMatchObject({ kind: 'KIND_A', big_number: '9007199254740993', first_choice: 'one', choice: 'first_choice' });
    await lastValueFrom(peers.unary('Say', undefined));
    expect(server.seen('Say').at(-1)).toMatchObject({ text: '', delay_ms: 0 });
  });

  it('proto.loader overrides the loader options per client: keepCase for snake_case code', async () => {
    const reply = await lastValueFrom(snake.unary<object, Record<string, unknown>>('Say', { text: 's', delay_ms: 9 }));
    expect(server.seen('Say').at(-1)).toMatchObject({ delay_ms: 9 });
    expect(reply).toMatchObject({ text: 's', delay_ms: 9 });
    const error = await failureOf(lastValueFrom(snake.unary('Say', { delayMs: 9 })));
    expect(error.details).toBe("'delayMs' is not a field of peers.SayRequest; did you mean 'delay_ms'?");
  });

  it('a given definition keeps its own field names and takes either spelling in requests (none dropped)', async () => {
    const a = await lastValueFrom(given.unary<object, Record<string, unknown>>('Say', { delay_ms: 1, inner: { innerName: 'n' } }));
    expect(server.seen('Say').at(-1)).toMatchObject({ delay_ms: 1, inner: { inner_name: 'n' } });
    await lastValueFrom(given.unary('Say', { delayMs: 2, items: [{ inner_name: 'i' }] }));
    expect(server.seen('Say').at(-1)).toMatchObject({ delay_ms: 2, items: [{ inner_name: 'i' }] });
    expect(a).toHaveProperty('delay_ms', 1);
    const error = await failureOf(lastValueFrom(given.unary('Say', { delay: 1 })));
    expect(error.details).toContain("'delay' is not a field of peers.SayRequest");
  });

  it("checks every message of a request stream; a bad one fails the call as the caller's, not retried", async () => {
    const ok = await lastValueFrom(peers.clientStream<object, Record<string, unknown>>('Collect', of({ text: 'a' }, { text: 'b' })));
    expect(ok).toMatchObject({ text: 'a,b', count: 2 });
    const error = await failureOf(lastValueFrom(peers.clientStream('Collect', of({ text: 'a' }, { txt: 'b' }), { retry: { maxAttempts: 3 } })));
    expect(error).toMatchObject({ category: 'invalid-request', retryable: false, attempts: 1 });
    expect(error.details).toBe("'txt' is not a field of peers.SayRequest; did you mean 'text'?");
    const streamed = await lastValueFrom(peers.serverStream<object, Record<string, unknown>>('list_things', { text: 't' }).pipe(toArray()));
    expect(streamed.map((r) => r.count)).toEqual([0, 1]);
  });
});
