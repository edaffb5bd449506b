import type { Observable } from 'rxjs';
import type { IsUntyped } from '../client/typed-client.js';
import type { FakeContext, FakeHandler, FakeStreamResult, FakeUnaryResult } from './fake.interface.js';

/** Every field optional, at any depth: a fake may answer with part of a message (proto3 fills the rest). */
export type FakeDeepPartial<T> = T extends Buffer | Uint8Array | Date
  ? T
  : T extends readonly (infer E)[]
    ? FakeDeepPartial<E>[]
    : T extends object
      ? { [K in keyof T]?: FakeDeepPartial<T[K]> }
      : T;

type Method = (request: never, ...rest: never[]) => unknown;

/** The RPC keys of a ts-proto (`nestJs=true`) Client or Controller interface: its methods. */
type RpcKeys<S> = { [K in keyof S]: S[K] extends Method ? K : never }[keyof S] & string;

type RequestOf<F> = F extends (request: infer Q, ...rest: never[]) => unknown ? Q : never;
type ReturnOf<F> = F extends (...args: never[]) => infer R ? R : never;
/** `Observable<R> | Promise<R> | R` (a Controller's unary return) or `Observable<R>` -> R. */
type Unwrapped<T> = T extends Observable<infer R> ? R : T extends Promise<infer R> ? R : T;
type ResponseOf<F> = FakeDeepPartial<Unwrapped<ReturnOf<F>>>;

/**
 * What a handler of RPC `F` may return. A Controller interface tells unary answers apart (they may
 * be Promises); a Client interface returns `Observable<R>` for both kinds, so either form is taken.
 */
type ResultOf<F> = [Extract<ReturnOf<F>, Promise<unknown>>] extends [never]
  ? FakeUnaryResult<ResponseOf<F>> | FakeStreamResult<ResponseOf<F>>
  : FakeUnaryResult<ResponseOf<F>>;

/** The handler of RPC `F`: request streams (an Observable in the interface) arrive as an AsyncIterable. */
export type FakeHandlerOf<F> =
  RequestOf<F> extends Observable<infer Q>
    ? (requests: AsyncIterable<Q>, ctx: FakeContext) => ResultOf<F>
    : (request: RequestOf<F>, ctx: FakeContext) => ResultOf<F>;

/**
 * Handlers of a fake of service `S` (a ts-proto `nestJs=true` Client or Controller interface),
 * named as the interface names them (`findOne`) or as the proto does (`FindOne`): a wrong name,
 * request use or response shape fails to compile.
 */
export type TypedFakeHandlers<S> = { [K in RpcKeys<S>]?: FakeHandlerOf<S[K]> } & {
  [K in RpcKeys<S> as Capitalize<K>]?: FakeHandlerOf<S[K]>;
};

/** Handlers of a fake: typed by a service interface `S`, or any `{ [rpc]: handler }` without one. */
export type FakeHandlers<S = unknown> = IsUntyped<S> extends true ? Record<string, FakeHandler> : TypedFakeHandlers<S>;
