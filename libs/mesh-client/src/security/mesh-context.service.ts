import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { CallContext, HandlerCallOptions } from './call-context.interface.js';
import type { MeshSecurityContext } from '../config/security-context.interface.js';

/** CLS key of the request's CallContext (security context + handler policy), one immutable object. */
export const CALL_CONTEXT_KEY = Symbol.for('@datapunk/mesh-client:call-context');

/**
 * The caller's security context for the request being handled, kept in nestjs-cls (the only
 * place this library stores per-request state). Incoming requests fill it (MeshContextInterceptor);
 * outgoing mesh calls read it.
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
    this.store({ security: Object.freeze({ ...current?.security, ...patch }), callOptions: current?.callOptions });
  }

  /** Runs `fn` with `ctx` as the security context (a new scope; the outer one is untouched). */
  run<T>(ctx: MeshSecurityContext, fn: () => T): T {
    return this.cls.run({ ifNested: 'inherit' }, () => {
      this.store({ security: Object.freeze({ ...ctx }), callOptions: this.callContext()?.callOptions });
      return fn();
    });
  }

  /**
   * @internal an incoming request's context and its handler's `@MeshCallOptions`, stored at once.
   * What the request's scope already holds (set by a middleware or guard) wins over the headers.
   */
  enter(security: MeshSecurityContext, callOptions: HandlerCallOptions | undefined): void {
    const current = this.callContext();
    this.store({ security: Object.freeze({ ...security, ...current?.security }), callOptions: callOptions ?? current?.callOptions });
  }

  /** @internal what an outgoing call reads (one CLS lookup, no allocation); undefined outside of a request. */
  callContext(): CallContext | undefined {
    return this.cls.isActive() ? (this.cls.get(CALL_CONTEXT_KEY) as CallContext | undefined) : undefined;
  }

  /** @internal runs `fn` in a request scope: the active one, or a new one. */
  ensureScope<T>(fn: () => T): T {
    return this.cls.isActive() ? fn() : this.cls.run(fn);
  }

  private store(context: CallContext): void {
    this.cls.set(CALL_CONTEXT_KEY, Object.freeze(context));
  }
}
