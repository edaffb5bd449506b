import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import type { Reflector } from '@nestjs/core';
import { Observable } from 'rxjs';
import type { HandlerCallOptions } from './call-context.interface.js';
import type { MeshContextFiller } from './context-filler.js';
import { MESH_CALL_OPTIONS } from './mesh-call-options.decorator.js';
import type { MeshContext } from './mesh-context.service.js';
import { sourceOfExecution } from './request-headers.js';

/**
 * Applies `@MeshCallOptions` to the handler's request scope. When the app mounts no nestjs-cls
 * initializer (so the CLS plugin never ran), it also opens the scope and fills the MeshContext
 * from the request's headers or metadata. Registered globally by MeshClientModule.
 */
export class MeshContextInterceptor implements NestInterceptor {
  constructor(
    private readonly meshContext: MeshContext,
    private readonly filler: MeshContextFiller,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const source = sourceOfExecution(context);
    if (!source) return next.handle();
    const options = this.reflector.getAllAndOverride<HandlerCallOptions | undefined>(MESH_CALL_OPTIONS, [context.getHandler(), context.getClass()]);
    return new Observable((subscriber) =>
      this.meshContext.ensureScope(() => {
        this.filler.fill(source);
        if (options) this.meshContext.applyCallOptions(options);
        return next.handle().subscribe(subscriber);
      }),
    );
  }
}
