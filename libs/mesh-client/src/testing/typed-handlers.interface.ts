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

/** Whether `F` answers with one message: a Promise in its return type (a Controller's unary and client-stream RPCs). */
type AnswersOnce<F> = [Extract<ReturnOf<F>, Promise<unknown>>] extends [never] ? false : true;

/**
 * A ts-proto Controller interface (some RPC may return a Promise): its RPCs without one are
 * streams. A Client interface returns `Observable<R>` for every kind, so either answer is taken.
 */
type IsController<S> = true extends { [K in RpcKeys<S>]: AnswersOnce<S[K]> }[RpcKeys<S>] ? true : false;

/** What a handler of RPC `F` of an interface (a Controller, or not) may return. */
type ResultOf<F, Controller extends boolean> =
  AnswersOnce<F> extends true
    ? FakeUnaryResult<ResponseOf<F>>
    : Controller extends true
      ? FakeStreamResult<ResponseOf<F>>
      : FakeUnaryResult<ResponseOf<F>> | FakeStreamResult<ResponseOf<F>>;

/** The handler of RPC `F`: request streams (an Observable in the interface) arrive as an AsyncIterable. */
export type FakeHandlerOf<F, Controller extends boolean = false> =
  RequestOf<F> extends Observable<infer Q>
    ? (requests: AsyncIterable<Q>, ctx: FakeContext) => ResultOf<F, Controller>
    : (request: RequestOf<F>, ctx: FakeContext) => ResultOf<F, Controller>;

/**
 * Handlers of a fake of service `S` (a ts-proto `nestJs=true` Client or Controller interface),
 * named as the interface names them (`findOne`) or as the proto does (`FindOne`): a wrong name,
 * request use or response shape fails to compile; with a Controller interface, so does a stream
 * answered with one message or a unary RPC answered with a stream.
 */
export type TypedFakeHandlers<S> = { [K in RpcKeys<S>]?: FakeHandlerOf<S[K], IsController<S>> } & {
  [K in RpcKeys<S> as Capitalize<K>]?: FakeHandlerOf<S[K], IsController<S>>;
};

/** Handlers of a fake: typed by a service interface `S`, or any `{ [rpc]: handler }` without one. */
export type FakeHandlers<S = unknown> = IsUntyped<S> extends true ? Record<string, FakeHandler> : TypedFakeHandlers<S>;
