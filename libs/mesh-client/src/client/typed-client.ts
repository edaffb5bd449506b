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

/**
 * The method names `unary<Req, Res>(...)` and its kin take: any string on an untyped client; on a
 * typed one the interface's names and their capitalized form (the proto's RPC names).
 */
export type MeshMethodName<S> = IsUntyped<S> extends true ? string : MeshRpcName<S> | Capitalize<MeshRpcName<S>>;

/**
 * The request type when given explicitly (`unary<Req, Res>`): anything on an untyped client; on a
 * typed one nothing unless given, so that an untyped call cannot slip past the typed overload.
 */
export type ExplicitRequest<S> = IsUntyped<S> extends true ? unknown : never;
