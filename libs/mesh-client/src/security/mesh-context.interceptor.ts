import { Logger, type CallHandler, type ExecutionContext, type NestInterceptor } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { Observable } from 'rxjs';
import type { HandlerCallOptions } from './call-context.interface.js';
import { MESH_CALL_OPTIONS } from './mesh-call-options.decorator.js';
import type { MeshContext } from './mesh-context.service.js';
import { sourceOfExecution } from './request-headers.js';

/**
 * The handler's `@MeshCallOptions` over its controller's, field by field, one level deep (a
 * handler's `retry` replaces the controller's; a field it leaves undefined keeps the controller's).
 */
function callOptionsOf(reflector: Reflector, context: ExecutionContext): HandlerCallOptions | undefined {
  const [handler, controller] = reflector.getAll<(HandlerCallOptions | undefined)[]>(MESH_CALL_OPTIONS, [context.getHandler(), context.getClass()]);
  if (!handler || !controller) return handler ?? controller;
  const merged: Record<string, unknown> = { ...controller };
  for (const [key, value] of Object.entries(handler)) if (value !== undefined) merged[key] = value;
  return merged as HandlerCallOptions;
}

/**
 * Applies `@MeshCallOptions` to the handler's request scope. When no CLS initializer kept the
 * request for the MeshContext (the app mounts none, or the nestjs-cls plugin hooks that ran are
 * another application's), it also opens the scope if needed and fills the MeshContext from the
 * request's headers or metadata. Registered globally by MeshClientModule.
 */
export class MeshContextInterceptor implements NestInterceptor {
  private warned = false;

  constructor(
    private readonly meshContext: MeshContext,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const source = sourceOfExecution(context);
    if (!source) return next.handle();
    const options = callOptionsOf(this.reflector, context);
    const initialized = this.meshContext.inScope();
    return new Observable((subscriber) =>
      this.meshContext.ensureScope(() => {
        const kept = this.meshContext.fill(() => ({ ...source, receivedAt: Date.now() }));
        if (initialized && !kept) this.warnOnce();
        if (options) this.meshContext.applyCallOptions(options);
        return next.handle().subscribe(subscriber);
      }),
    );
  }

  /** A CLS initializer ran for the request, but MeshClientModule's nestjs-cls plugin did not. */
  private warnOnce(): void {
    if (this.warned) return;
    this.warned = true;
    new Logger('MeshContext').warn(
      "MeshClientModule's nestjs-cls plugin did not run in this request's CLS setup, so guards did not see the MeshContext (filled here, " +
        'before the handler). nestjs-cls runs the plugin hooks of the last Nest application created in a process for every ' +
        'application: create the applications that import MeshClientModule last, or import MeshClientModule in each of them.',
    );
  }
}
