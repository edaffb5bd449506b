import type { Observable } from 'rxjs';

/**
 * Request metadata as a plain record (so that `toMatchObject` prints it readably): one entry per
 * key, repeated string values joined with ', ' (as HTTP does), binary (`-bin`) values as Buffers
 * (the first one). Transport headers (`user-agent`, `grpc-accept-encoding`, ...) are left out.
 */
export type FakeMetadata = Record<string, string | Buffer>;

/** What a handler gets beside its request. */
export interface FakeContext {
  /** The RPC name, e.g. 'GetItem'. */
  readonly method: string;
  /** The request metadata the fake received. */
  readonly metadata: FakeMetadata;
  /** Milliseconds left until the call's deadline, now (Infinity when the call has none). */
  readonly deadlineLeftMs: number;
  /** Aborted when the client cancels the call (or its deadline passes) or the fake closes. */
  readonly signal: AbortSignal;
  /** Adds a response header, sent before the first response message (or with the status). */
  setHeader(key: string, value: string | Buffer): void;
}

/** One call the fake received, as a plain object: a readable diff when a test asserts on it. */
export interface FakeCall {
  /** The RPC name, e.g. 'GetItem'. */
  readonly method: string;
  /** The request (unary and server-streaming calls). */
  readonly request?: unknown;
  /** Every request received so far (client- and bidi-streaming calls). */
  readonly requests?: unknown[];
  /** The request metadata (see {@link FakeMetadata}). */
  readonly metadata: FakeMetadata;
  /** Milliseconds left until the deadline when the call arrived (Infinity without a deadline). */
  readonly deadlineLeftMs: number;
}

/** What a unary or client-streaming handler returns: the response, a Promise of it, or an Observable (its last value). */
export type FakeUnaryResult<R = unknown> = R | Promise<R> | Observable<R>;

/** What a server- or bidi-streaming handler returns: the responses as an iterable, AsyncIterable or Observable (or a Promise of one). */
export type FakeStreamResult<R = unknown> = Iterable<R> | AsyncIterable<R> | Observable<R> | Promise<Iterable<R> | AsyncIterable<R> | Observable<R>>;

/**
 * A handler of an untyped fake: `(request, ctx)` for unary and server-streaming RPCs,
 * `(requests: AsyncIterable, ctx)` for client- and bidi-streaming ones.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- an untyped fake reads request fields freely, as an untyped client sends them
export type FakeHandler = (request: any, ctx: FakeContext) => unknown;

/** Options of {@link MeshFake.start}. */
export interface MeshFakeOptions {
  /**
   * Serve mutual TLS with certificates generated for this fake (a CA, a server certificate for
   * `localhost` / 127.0.0.1 and a client certificate): see `MeshFake.tls`. Default false.
   */
  tls?: boolean;
}

/** What a client needs to trust a TLS fake and be trusted by it; usable as a client's `tls` option as is. */
export interface FakeTlsMaterial {
  /** CA certificate (PEM) that signed the fake's server certificate and the client certificate. */
  readonly ca: string;
  /** Client certificate (PEM) the fake accepts. */
  readonly cert: string;
  /** Private key (PEM) of `cert`. */
  readonly key: string;
  /** The name in the fake's certificate to check: 'localhost'. */
  readonly serverName: string;
}
