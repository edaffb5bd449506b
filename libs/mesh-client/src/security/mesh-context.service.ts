import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { CallContext, HandlerCallOptions } from './call-context.interface.js';
import type { MeshSecurityContext } from '../config/security-context.interface.js';

/** CLS key of the request's CallContext (security context + handler policy), one immutable object. */
const CALL_CONTEXT_KEY = Symbol.for('@datapunk/mesh-client:call-context');

/** The current request's CallContext (one CLS lookup, no allocation); undefined outside of a request. */
export function readCallContext(cls: Pick<ClsService, 'isActive' | 'get'>): CallContext | undefined {
  return cls.isActive() ? (cls.get(CALL_CONTEXT_KEY) as CallContext | undefined) : undefined;
}

/**
 * The caller's security context for the request being handled, kept in nestjs-cls (the only
 * place this library stores per-request state). Incoming requests fill it (the nestjs-cls plugin,
 * or MeshContextInterceptor when the app mounts no CLS initializer); outgoing mesh calls read it.
 *
 * @example
 * await meshContext.run({ token, requestId: 'job-42' }, () => lastValueFrom(client.unary('Sync', {})));
 */
@Injectable()
export class MeshContext {
  constructor(private readonly cls: ClsService) {}

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
    return this.cls.run({ ifNested: 'inherit' }, () => {
      this.store({ security: Object.freeze({ ...ctx }), callOptions: this.callContext()?.callOptions });
      return fn();
    });
  }

  /**
   * @internal an incoming request's context. What the request's scope already holds (set by the
   * app's CLS setup or a middleware) wins over the headers.
   */
  enter(security: MeshSecurityContext): void {
    const current = this.callContext();
    this.store({ security: Object.freeze({ ...security, ...current?.security }), callOptions: current?.callOptions, incoming: true });
  }

  /** @internal the handler's `@MeshCallOptions` for the calls it makes. */
  applyCallOptions(callOptions: HandlerCallOptions): void {
    const current = this.callContext();
    this.store({ ...current, security: current?.security, callOptions });
  }

  /** @internal what an outgoing call reads (one CLS lookup, no allocation); undefined outside of a request. */
  callContext(): CallContext | undefined {
    return readCallContext(this.cls);
  }

  /** @internal runs `fn` in a request scope: the active one, or a new one. */
  ensureScope<T>(fn: () => T): T {
    return this.cls.isActive() ? fn() : this.cls.run(fn);
  }

  private store(context: CallContext): void {
    this.cls.set(CALL_CONTEXT_KEY, Object.freeze(context));
  }
}
