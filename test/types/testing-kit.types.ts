/**
 * Compile-time checks of typed fakes (`npm run lint` type-checks this file; it is never run).
 * Each `@ts-expect-error` line must fail to compile: if it compiled, tsc would report the unused
 * directive and lint would fail.
 */
import { of } from 'rxjs';
import type { ProtoSource } from '@datapunk/mesh-client';
import { MeshFake, type FakeHandlers } from '@datapunk/mesh-client/testing';
import type { HeroesServiceClient, HeroesServiceController } from '../support/generated/hero.js';
import type { PeersClient } from '../support/generated/peers.js';

declare const proto: ProtoSource;

// a Client interface: the interface's names and the RPC names; requests typed, request streams as AsyncIterables
void MeshFake.start<HeroesServiceClient>(proto, {
  findOne: (req, ctx) => ({ id: req.id, name: String(ctx.metadata['x-name']), powers: ['flight'] }),
  FindMany: async function* (requests) {
    for await (const hero of requests) yield { id: hero.id };
  },
  listAll: () => [{ name: 'a' }, { name: 'b' }],
});

// responses may be partial (proto3 fills the rest), a Promise or an Observable
const partial: FakeHandlers<HeroesServiceClient> = { findOne: async ({ id }) => ({ id }), listAll: () => of({ firstSeen: 1 }) };

// a Controller interface: unary RPCs answer once (value, Promise, Observable), streams with a stream
void MeshFake.start<HeroesServiceController>(proto, {
  findOne: async ({ id }) => ({ id, name: 'Ada' }),
  listAll: () => of({ id: 1 }, { id: 2 }),
  findMany: (requests) =>
    (async function* () {
      for await (const r of requests) yield { id: r.id * 2 };
    })(),
});

// nested and snake_case-sourced fields keep their ts-proto names and types
void MeshFake.start<PeersClient>(proto, {
  say: (req) => ({ text: req.text, inner: { innerName: req.inner?.innerName ?? '' }, bigNumber: req.bigNumber }),
  collect: async (requests) => {
    let count = 0;
    for await (const r of requests) count += r.delayMs;
    return { count };
  },
});

// untyped: any names and shapes (checked when the fake starts and answers)
void MeshFake.start(proto, { Anything: (req) => ({ echoed: req.whatever }) });

// @ts-expect-error a handler the service does not have
void MeshFake.start<HeroesServiceClient>(proto, { findAll: () => ({}) });

// @ts-expect-error a typo in the handler name
void MeshFake.start<HeroesServiceClient>(proto, { fndOne: () => ({}) });

// @ts-expect-error a request field the message does not have
void MeshFake.start<HeroesServiceClient>(proto, { findOne: (req) => ({ id: req.heroId }) });

// @ts-expect-error a response field of the wrong type
void MeshFake.start<HeroesServiceClient>(proto, { findOne: () => ({ id: 'one' }) });

// @ts-expect-error a response that is no Hero at all
void MeshFake.start<HeroesServiceClient>(proto, { findOne: () => ({ title: 'x' }) });

// @ts-expect-error the messages of a response stream are checked too
void MeshFake.start<HeroesServiceClient>(proto, { listAll: () => [{ powers: 'flight' }] });

// @ts-expect-error a request stream arrives as an AsyncIterable, not as one message
void MeshFake.start<HeroesServiceClient>(proto, { findMany: (requests) => [{ id: requests.id }] });

// @ts-expect-error a Controller's server stream answers with a stream, not one message
void MeshFake.start<HeroesServiceController>(proto, { listAll: () => ({ id: 1 }) });

// @ts-expect-error a Controller's unary RPC answers with one message, not a stream
void MeshFake.start<HeroesServiceController>(proto, { findOne: () => [{ id: 1 }] });

// @ts-expect-error the context has no such member
void MeshFake.start<HeroesServiceClient>(proto, { findOne: (_req, ctx) => ({ name: ctx.headers }) });

void partial;
