/**
 * Compile-time checks of typed clients (`npm run lint` type-checks this file with TypeScript 6;
 * CI also with TypeScript 7; it is never run). Each `@ts-expect-error` line must fail to compile:
 * if it compiled, tsc would report the unused directive and lint would fail. A directive ending
 * in `names 'x'` also says what the error must name: `test/types/check-messages.mjs` compiles this
 * file without the directives and checks each error quotes `'x'` and never a bare `'never'`.
 */
import type { Metadata, ServiceError } from '@grpc/grpc-js';
import { of, type Observable } from 'rxjs';
import type { MeshClient, MeshClientError } from '@datapunk/mesh-client';
import type { Empty, Hero, HeroesServiceClient, HeroesServiceController } from '../support/generated/hero.js';

declare const heroes: MeshClient<HeroesServiceClient>;
/** Typed by the client and the controller interface: the call kind of each RPC is known too. */
declare const kinded: MeshClient<HeroesServiceClient, HeroesServiceController>;
declare const untyped: MeshClient;

// the method name, the request and the response are those of the ts-proto interface
const one: Observable<Hero> = heroes.unary('findOne', { id: 1 });
const byRpcName: Observable<Hero> = heroes.unary('FindOne', { id: 1 });
const many: Observable<Hero> = heroes.bidiStream('findMany', of({ id: 1 }));
const all: Observable<Hero> = heroes.serverStream('listAll', {});
one.subscribe((hero) => hero.name.toUpperCase());

// getService() returns the interface itself, without a cast; Metadata as Nest passes it
const service: HeroesServiceClient = heroes.getService();
service.findOne({ id: 2 }, {} as Metadata).subscribe((hero) => hero.powers.join());

// explicit generics, as an untyped client is called, still work with the RPC name
const explicit: Observable<{ name: string }> = heroes.unary<{ id: number }, { name: string }>('FindOne', { id: 3 });
const loose: Observable<unknown> = untyped.unary('Anything', { any: 'thing' });

// @ts-expect-error a method the service does not have: names 'findAll'
heroes.unary('findAll', { id: 1 });

// @ts-expect-error a typo in the method name: names 'fndOne'
heroes.unary('fndOne', { id: 1 });

// @ts-expect-error a request field the message does not have: names 'idd'
heroes.unary('findOne', { idd: 1 });

// @ts-expect-error a request field of the wrong type: names 'number'
heroes.unary('findOne', { id: 'one' });

// @ts-expect-error a bidi RPC takes an Observable of requests
heroes.bidiStream('findMany', { id: 1 });

// @ts-expect-error the response has no such field: names 'title'
heroes.unary('findOne', { id: 1 }).subscribe((hero) => hero.title);

// @ts-expect-error the interface's method is typed too
service.findOne({ name: 'x' });

// the call kind: a request stream is told by the client interface alone
// @ts-expect-error findOne takes one request, not a stream: names 'findOne'
heroes.clientStream('findOne', of({ id: 1 }));

// @ts-expect-error findMany streams its requests: unary() does not take it: names 'findMany'
heroes.unary('findMany', of({ id: 1 }));

// ...and with the controller interface, a server stream from a unary RPC
const kindedOne: Observable<Hero> = kinded.unary('findOne', { id: 1 });
const kindedAll: Observable<Hero> = kinded.serverStream('ListAll', {});
const kindedMany: Observable<Hero> = kinded.bidiStream('findMany', of({ id: 1 }));

// @ts-expect-error serverStream() on a unary RPC: names 'findOne'
kinded.serverStream('findOne', { id: 1 });

// @ts-expect-error unary() on a server-streaming RPC: names 'listAll'
kinded.unary('listAll', {});

// @ts-expect-error clientStream() on a bidi RPC: names 'findMany'
kinded.clientStream('findMany', of({ id: 1 }));

// request(): a unary call as a Promise, typed like unary()
const asked: Promise<Hero> = heroes.request('findOne', { id: 1 });
const kindedAsked: Promise<Hero> = kinded.request('FindOne', { id: 1 });

// @ts-expect-error request() on a server-streaming RPC: names 'listAll'
kinded.request('listAll', {});

// iterate(): streaming RPCs only, elements of the response type
async function iterated(): Promise<Hero[]> {
  const seen: Hero[] = [];
  for await (const hero of kinded.iterate('listAll', {})) seen.push(hero);
  for await (const hero of kinded.iterate('FindMany', [{ id: 1 }, { id: 2 }])) seen.push(hero);
  for await (const hero of heroes.iterate('listAll', {}, { highWaterMark: 4 })) seen.push(hero);
  for await (const hero of heroes.iterate<Empty, Hero>('ListAll', {})) seen.push(hero);
  for await (const anything of untyped.iterate('Anything', { any: 'thing' })) void (anything satisfies unknown);
  return seen;
}

// @ts-expect-error iterate() of an RPC the service does not have: names 'listHeroz'
void kinded.iterate('listHeroz', { cnt: 1 });

// @ts-expect-error iterate() of a unary RPC: names 'findOne'
void kinded.iterate('findOne', { id: 1 });

// @ts-expect-error iterate() with a request field the message does not have: names 'idd'
void heroes.iterate('findMany', [{ idd: 1 }]);

async function iteratedWrongly(): Promise<void> {
  // @ts-expect-error the elements have no such field: names 'title'
  for await (const hero of kinded.iterate('listAll', {})) void hero.title;
}

// MeshClientError has grpc-js ServiceError's shape: ClientGrpc-era handlers type-check
const asServiceError = (error: MeshClientError): Pick<ServiceError, 'code' | 'details' | 'metadata'> => error;

void [byRpcName, many, all, explicit, loose, kindedOne, kindedAll, kindedMany, iterated, iteratedWrongly, asServiceError, asked, kindedAsked];
