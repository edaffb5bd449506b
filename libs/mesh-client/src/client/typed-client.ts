import type { Observable } from 'rxjs';

/**
 * The RPC names of a typed service interface `S`, as ts-proto (`nestJs=true`) and Nest's
 * `ClientGrpc` users write them: `getItem(request, metadata?): Observable<Item>`.
 */
export type MeshRpcName<S> = { [K in keyof S]: S[K] extends (request: never, ...rest: never[]) => Observable<unknown> ? K : never }[keyof S] & string;

/** The request type of RPC `K` of `S` (an Observable of requests for request streams). */
export type MeshRequestOf<S, K extends keyof S> = S[K] extends (request: infer Q, ...rest: never[]) => unknown ? Q : never;

/** The response type of RPC `K` of `S`. */
export type MeshResponseOf<S, K extends keyof S> = S[K] extends (...args: never[]) => Observable<infer R> ? R : never;

/** The key of `S` a method name stands for: itself, or its lowerCamel form (an RPC name). */
export type MeshRpcKey<S, K extends string> = K extends keyof S ? K : Uncapitalize<K> extends keyof S ? Uncapitalize<K> : never;

/** True for a client without a service type (`MeshClient` / `MeshClient<unknown>`). */
export type IsUntyped<S> = unknown extends S ? true : false;

/** The kind of an RPC: what its request and its response are (one message, or a stream). */
export type MeshCallKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';

/** Whether RPC `K` takes a stream of requests: ts-proto types its request as an Observable. */
type RequestStreams<S, K extends keyof S> = MeshRequestOf<S, K> extends Observable<unknown> ? true : false;

/**
 * Whether RPC `K` answers with a stream, as the controller interface `C` (ts-proto `nestJs=true`)
 * tells: a streaming handler returns only an Observable, a unary one may return a Promise.
 * `boolean` when `C` is not given: ts-proto's client interface types both as an Observable.
 */
type ResponseStreams<C, K> =
  IsUntyped<C> extends true
    ? boolean
    : K extends keyof C
      ? C[K] extends (...args: never[]) => infer R
        ? [Extract<R, PromiseLike<unknown>>] extends [never]
          ? true
          : false
        : boolean
      : boolean;

/** The kinds RPC `K` of `S` may be (one, when the controller interface `C` tells). */
type KindOf<S, C, K extends keyof S> =
  RequestStreams<S, K> extends true
    ? (true extends ResponseStreams<C, K> ? 'bidi' : never) | (false extends ResponseStreams<C, K> ? 'client-stream' : never)
    : (true extends ResponseStreams<C, K> ? 'server-stream' : never) | (false extends ResponseStreams<C, K> ? 'unary' : never);

/** The interface names of the RPCs of `S` that may be of kind `Kind`. */
type RpcOfKind<S, C, Kind extends MeshCallKind> = { [K in MeshRpcName<S>]: Kind extends KindOf<S, C, K> ? K : never }[MeshRpcName<S>] & string;

/**
 * The method names a call of kind `Kind` takes: any string on an untyped client; on a typed one
 * the names of the RPCs of that kind (the interface's names and their capitalized form, the
 * proto's RPC names). Request streams are told by their Observable request type; server streams
 * from unary RPCs only when the controller interface is given (`MeshClient<Client, Controller>`).
 */
export type MeshMethodOf<S, C, Kind extends MeshCallKind> =
  IsUntyped<S> extends true
    ? string
    : [RpcOfKind<S, C, Kind>] extends [never]
      ? NoRpcOf<Kind>
      : RpcOfKind<S, C, Kind> | Capitalize<RpcOfKind<S, C, Kind>>;

/** How an error names a call kind (`iterate()` takes both response-streaming kinds). */
type KindLabel<Kind> = [Kind] extends ['unary']
  ? 'unary'
  : [Kind] extends ['server-stream']
    ? 'server-streaming'
    : [Kind] extends ['client-stream']
      ? 'client-streaming'
      : [Kind] extends ['bidi']
        ? 'bidi-streaming'
        : 'response-streaming';

/** What a typed call of a kind the service has no RPC of takes: a name that says so (rather than `never`). */
type NoRpcOf<Kind extends MeshCallKind> = `(this service has no ${KindLabel<Kind>} RPC)`;

/**
 * The method names `unary<Req, Res>(...)` and its kin take: any string on an untyped client; on a
 * typed one the interface's names and their capitalized form (the proto's RPC names).
 */
export type MeshMethodName<S> = IsUntyped<S> extends true ? string : MeshRpcName<S> | Capitalize<MeshRpcName<S>>;

declare const TYPED_ONLY: unique symbol;

/**
 * What a typed client's `unary<Req, Res>()` (and kin) takes as a request when no type arguments
 * were given: nothing fits, so the call is checked against the service's own types (the other
 * signature), whose error names the method or the field that is wrong.
 */
export interface MeshTypedRequest {
  readonly [TYPED_ONLY]: 'a request of the service interface (or give <Req, Res> explicitly)';
}

/**
 * The request type when given explicitly (`unary<Req, Res>`): anything on an untyped client; on a
 * typed one nothing unless given, so that an untyped call cannot slip past the typed signature.
 */
export type ExplicitRequest<S> = IsUntyped<S> extends true ? unknown : MeshTypedRequest;

/** The request type of method name `K` (the interface's name or the RPC name) of `S`. */
export type MeshReq<S, K extends string> = MeshRequestOf<S, MeshRpcKey<S, K>>;

/** The response type of method name `K` of `S`. */
export type MeshRes<S, K extends string> = MeshResponseOf<S, MeshRpcKey<S, K>>;

/** What `iterate()` takes as the request of method `K`: its message, or for a bidi RPC an Observable, AsyncIterable or iterable of them. */
export type MeshIterateRequest<S, K extends string> =
  // the array first: a wrong element's error then names its field (TypeScript 7 elaborates only the first fit)
  MeshReq<S, K> extends Observable<infer Q> ? readonly Q[] | Iterable<Q> | AsyncIterable<Q> | Observable<Q> : MeshReq<S, K>;

/** What `iterate<Req, Res>()` takes as the request: a message, an Observable or an AsyncIterable of them. */
export type ExplicitIterateRequest<Req> = [Req] extends [MeshTypedRequest] ? MeshTypedRequest : Req | Observable<Req> | AsyncIterable<Req>;
