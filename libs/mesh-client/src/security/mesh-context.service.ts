import { Injectable } from '@nestjs/common';
import { ClsService } from 'nestjs-cls';
import type { CallContext, HandlerCallOptions } from './call-context.interface.js';
import type { MeshSecurityContext } from './security-context.interface.js';

/** CLS key of the security context. */
export const SECURITY_CONTEXT_KEY = Symbol.for('@datapunk/mesh-client:security-context');
const SECURITY = SECURITY_CONTEXT_KEY;
const CALL_OPTIONS = Symbol.for('@datapunk/mesh-client:call-options');

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
    return this.cls.isActive() ? (this.cls.get(SECURITY) as MeshSecurityContext | undefined) : undefined;
  }

  /** Merges `patch` into the current context. Throws outside of a request (use `run`). */
  set(patch: Partial<MeshSecurityContext>): void {
    if (!this.cls.isActive()) throw new Error('MeshContext.set: no request context is active here; wrap the work in MeshContext.run(ctx, fn)');
    this.cls.set(SECURITY, Object.freeze({ ...this.get(), ...patch }));
  }

  /** Runs `fn` with `ctx` as the security context (a new scope; the outer one is untouched). */
  run<T>(ctx: MeshSecurityContext, fn: () => T): T {
    return this.cls.run({ ifNested: 'inherit' }, () => {
      this.cls.set(SECURITY, Object.freeze({ ...ctx }));
      return fn();
    });
  }

  /** @internal the handler policy of `@MeshCallOptions`. */
  setCallOptions(options: HandlerCallOptions | undefined): void {
    if (this.cls.isActive()) this.cls.set(CALL_OPTIONS, options);
  }

  /** @internal what an outgoing call reads; undefined outside of a request. */
  callContext(): CallContext | undefined {
    if (!this.cls.isActive()) return undefined;
    return { security: this.cls.get(SECURITY) as MeshSecurityContext | undefined, callOptions: this.cls.get(CALL_OPTIONS) as HandlerCallOptions | undefined };
  }

  /** @internal runs `fn` in a request scope: the active one, or a new one. */
  ensureScope<T>(fn: () => T): T {
    return this.cls.isActive() ? fn() : this.cls.run(fn);
  }
}
