import { Inject, Injectable, Optional } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { CallContext, HandlerCallOptions } from './call-context.interface.js';
import type { MeshSecurityContext, MeshTrustedHeader } from '../config/security-context.interface.js';
import { CONTEXT_EXTRA_KEYS, CONTEXT_TRUSTED, IncomingContextReader, type PendingRequest } from './incoming-context-reader.js';

/** CLS key of the request's CallContext (security context + handler policy), one immutable object. */
const CALL_CONTEXT_KEY = Symbol.for('@datapunk/mesh-client:call-context');
/** CLS key of the incoming request kept by the nestjs-cls plugin until a MeshContext reads it. */
export const PENDING_REQUEST_KEY = Symbol.for('@datapunk/mesh-client:pending-request');

/** The current request's CallContext as stored (one CLS lookup, no allocation); undefined outside of a request. */
export function readCallContext(cls: Pick<ClsService, 'isActive' | 'get'>): CallContext | undefined {
  return cls.isActive() ? (cls.get(CALL_CONTEXT_KEY) as CallContext | undefined) : undefined;
}

/**
 * The caller's security context for the request being handled, kept in nestjs-cls (the only
 * place this library stores per-request state). Incoming requests fill the parts the module's
 * `trustIncoming` names (from the request the nestjs-cls plugin kept, when first asked, or by
 * MeshContextInterceptor when the app mounts no CLS initializer); what the app sets itself
 * (`set()` in a guard, after verifying it) wins; outgoing mesh calls read it.
 *
 * @example
 * await meshContext.run({ token, requestId: 'job-42' }, () => lastValueFrom(client.unary('Sync', {})));
 * // in a guard, once the caller's token was verified:
 * meshContext.set({ token: verified.token, tenant: verified.tenant });
 */
@Injectable()
export class MeshContext {
  private readonly incoming: IncomingContextReader;

  /** @internal built by MeshClientModule (inject `MeshContext`). */
  constructor(
    private readonly cls: ClsService,
    @Optional() @Inject(CONTEXT_EXTRA_KEYS) extraKeys?: readonly string[],
    @Optional() @Inject(CONTEXT_TRUSTED) trusted?: readonly MeshTrustedHeader[],
  ) {
    this.incoming = new IncomingContextReader(extraKeys ?? [], trusted);
  }

  /** The current context, or undefined outside of a request. */
  get(): MeshSecurityContext | undefined {
    return this.callContext()?.security;
  }

  /** Merges `patch` into the current context. Throws outside of a request (use `run`). */
  set(patch: Partial<MeshSecurityContext>): void {
    if (!this.cls.isActive()) throw new Error('MeshContext.set: no request context is active here; wrap the work in MeshContext.run(ctx, fn)');
    const current = this.callContext();
    this.store({ ...current, security: Object.freeze({ ...current?.security, ...patch }), callOptions: current?.callOptions });
  }

  /** Runs `fn` with `ctx` as the security context (a new scope; the outer one is untouched). */
  run<T>(ctx: MeshSecurityContext, fn: () => T): T {
    // nested, the scope starts from a copy of the outer store (nestjs-cls' run() with ifNested
    // 'inherit'), keeping the handler's call options; outside of any scope (a job, a worker's loop)
    // from an empty one. Either way its context is `ctx` alone: no incoming request's headers go into it.
    const outer = this.cls.isActive() ? (this.cls.get() as Record<PropertyKey, unknown> | undefined) : undefined;
    const context: CallContext = Object.freeze({
      security: Object.freeze({ ...ctx }),
      callOptions: outer && (outer[CALL_CONTEXT_KEY] as CallContext | undefined)?.callOptions,
      filled: true,
    });
    return this.cls.runWith({ ...outer, [CALL_CONTEXT_KEY]: context }, fn);
  }

  /**
   * @internal takes the incoming request's context into the request's scope, once: the request
   * the CLS plugin kept, else `source` (the interceptor's, when no CLS initializer ran). Returns
   * false when the scope had neither a kept request nor a filled context (the plugin's hook did
   * not run for this request's CLS setup).
   */
  fill(source: () => PendingRequest): boolean {
    const current = this.callContext();
    if (current?.filled) return true;
    this.enter(this.incoming.read(source()), current);
    return false;
  }

  /** @internal the handler's `@MeshCallOptions` for the calls it makes. */
  applyCallOptions(callOptions: HandlerCallOptions): void {
    const current = this.callContext();
    this.store({ ...current, security: current?.security, callOptions });
  }

  /**
   * @internal what an outgoing call reads; undefined outside of a request. One CLS lookup once
   * the request's context is filled; the first read of a request takes in the request the CLS
   * plugin kept, with this application's `contextExtraKeys`.
   */
  callContext(): CallContext | undefined {
    const current = readCallContext(this.cls);
    if (current?.filled) return current;
    const pending = this.cls.isActive() ? (this.cls.get(PENDING_REQUEST_KEY) as PendingRequest | undefined) : undefined;
    return pending ? this.enter(this.incoming.read(pending), current) : current;
  }

  /** @internal a request scope is active (a CLS initializer or `run` opened one). */
  inScope(): boolean {
    return this.cls.isActive();
  }

  /** @internal runs `fn` in a request scope: the active one, or a new one. */
  ensureScope<T>(fn: () => T): T {
    return this.cls.isActive() ? fn() : this.cls.run(fn);
  }

  /** The incoming request's context under what the scope already holds (set by the app's CLS setup or a middleware: it wins). */
  private enter(security: MeshSecurityContext, current: CallContext | undefined): CallContext {
    return this.store({ security: Object.freeze({ ...security, ...current?.security }), callOptions: current?.callOptions, filled: true });
  }

  private store(context: CallContext): CallContext {
    const frozen = Object.freeze(context);
    this.cls.set(CALL_CONTEXT_KEY, frozen);
    return frozen;
  }
}
