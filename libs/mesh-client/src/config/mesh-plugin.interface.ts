import type { Metadata, status } from '@grpc/grpc-js';
import type { Type } from '@nestjs/common';
import type { Observable } from 'rxjs';
import type { MeshSecurityContext } from './security-context.interface.js';

/** One RPC of one client, as plugins see it. */
export interface MeshMethodInfo {
  /** Name of the mesh client. */
  readonly client: string;
  /** Fully qualified proto service, e.g. 'demo.Inventory'. */
  readonly service: string;
  /** RPC name, e.g. 'GetItem'. */
  readonly method: string;
  /** Wire path, e.g. '/demo.Inventory/GetItem'. */
  readonly path: string;
  /** The call kind: what its request and its response are (one message, or a stream). */
  readonly kind: 'unary' | 'server-stream' | 'client-stream' | 'bidi';
  /** Marked safe to repeat (`methods[rpc].idempotent`). */
  readonly idempotent: boolean;
}

/** One call, as the `intercept` tier sees it. Immutable: `with()` makes a changed copy. */
export interface MeshCall {
  /** The RPC called. */
  readonly method: MeshMethodInfo;
  /** The request message, or the Observable of request messages of a streaming call. */
  readonly request: unknown;
  /** The call's metadata (context, client and call entries); attempts start from a copy of it. */
  readonly metadata: Metadata;
  /** When the call ends at the latest (every hook and wait included). */
  readonly deadline: Date;
  /** The caller's security context, if the call was made while handling a request. */
  readonly context?: MeshSecurityContext;
  /**
   * Attempts started so far (0 until the first). Optional in the type only: every call the client
   * makes has it, and a MeshCall built by hand (a plugin's unit test, as API.md's shape) may leave it out.
   */
  readonly attempts?: number;
  /** The same call with another request. */
  with(change: { request?: unknown }): MeshCall;
}

/** The rest of the call behind an interceptor (Nest's CallHandler shape). */
export interface MeshCallHandler {
  /** The Observable of the rest of the call: inner interceptors, retry, breaker, attempts. */
  handle(call?: MeshCall): Observable<unknown>;
}

/** One attempt of a call, as the per-attempt hooks see it. */
export interface MeshAttempt {
  /** The call this attempt is part of. */
  readonly call: MeshCall;
  /** 1-based. */
  readonly attempt: number;
  /** This attempt's metadata: writable in `beforeAttempt` (e.g. a fresh token per attempt). */
  readonly metadata: Metadata;
}

/** How one attempt ended. */
export interface MeshAttemptEnd {
  /** The attempt's status code (OK when it succeeded). */
  readonly code: status;
  /** Its name, e.g. 'UNAUTHENTICATED'. */
  readonly codeName: string;
  /** Status details ('' on success). */
  readonly details: string;
  /** The attempt's trailers, when it received any. */
  readonly trailers?: Metadata;
  /** A response reached the caller (or the requests cannot be sent again): no replay possible. */
  readonly committed: boolean;
  /** From the start of the attempt (its `beforeAttempt` turn) to its end. */
  readonly durationMs: number;
}

/**
 * A plugin: it sees and shapes every call of the clients it is registered for, on two tiers. The
 * whole call (`intercept`, inside metrics and tracing, outside retry and breaker) and each attempt
 * (`beforeAttempt`, `onHeaders`, `afterAttempt`, after the breaker admitted it). Every hook is
 * optional. A hook that throws fails the call with a MeshClientError ('internal', naming the
 * plugin), never retried and never counted by the breaker.
 *
 * @example
 * class AttemptHeader implements MeshClientPlugin {
 *   readonly name = 'attempt-header';
 *   beforeAttempt(attempt: MeshAttempt) { attempt.metadata.set('x-attempt', String(attempt.attempt)); }
 * }
 */
export interface MeshClientPlugin {
  /** Names the plugin in errors and logs. */
  readonly name: string;
  /** Asked once per method (and again after `update()`), never per call. Default: every method. */
  appliesTo?(method: MeshMethodInfo): boolean;
  /** The whole call, shaped like a Nest interceptor: `next.handle(call)` is the rest of it. */
  intercept?(call: MeshCall, next: MeshCallHandler): Observable<unknown>;
  /** Each attempt, after the breaker admitted it and before it is sent; may change its metadata. */
  beforeAttempt?(attempt: MeshAttempt): void | Promise<void>;
  /** Each attempt's response headers. */
  onHeaders?(attempt: MeshAttempt, headers: Metadata): void;
  /**
   * Each attempt's end. 'replay' asks for one more attempt of an uncommitted call (e.g. after a
   * token refresh): once per call, also with retry off, outside the retry budget.
   */
  afterAttempt?(attempt: MeshAttempt, end: MeshAttemptEnd): void | 'replay' | Promise<void | 'replay'>;
  /** Called once when the application starts (after the plugin was built); may refuse to start. */
  onModuleInit?(): void | Promise<void>;
  /** Called once when the application shuts down, after every client closed. */
  onModuleDestroy?(): void | Promise<void>;
}

/** A plugin object, or a plugin class that Nest builds (with its constructor dependencies) in the module's scope. */
export type MeshPluginRef = MeshClientPlugin | Type<MeshClientPlugin>;
