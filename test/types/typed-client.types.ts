/**
 * Compile-time checks of typed clients (`npm run lint` type-checks this file; it is never run).
 * Each `@ts-expect-error` line must fail to compile: if it compiled, tsc would report the unused
 * directive and lint would fail.
 */
import type { Metadata } from '@grpc/grpc-js';
import { of, type Observable } from 'rxjs';
import type { MeshClient } from '@datapunk/mesh-client';
import type { Hero, HeroesServiceClient } from '../support/generated/hero.js';

declare const heroes: MeshClient<HeroesServiceClient>;
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

// @ts-expect-error a method the service does not have
heroes.unary('findAll', { id: 1 });

// @ts-expect-error a typo in the method name
heroes.unary('fndOne', { id: 1 });

// @ts-expect-error a request field the message does not have
heroes.unary('findOne', { idd: 1 });

// @ts-expect-error a request field of the wrong type
heroes.unary('findOne', { id: 'one' });

// @ts-expect-error a bidi RPC takes an Observable of requests
heroes.bidiStream('findMany', { id: 1 });

// @ts-expect-error the response has no such field
heroes.unary('findOne', { id: 1 }).subscribe((hero) => hero.title);

// @ts-expect-error the interface's method is typed too
service.findOne({ name: 'x' });

void [byRpcName, many, all, explicit, loose];
