import { Logger } from '@nestjs/common';
import { incomingContext } from './incoming-context.js';
import type { MeshContext } from './mesh-context.service.js';
import type { RequestSource } from './request-headers.js';

/**
 * Fills the request scope's MeshContext from the incoming request, once per request: whichever
 * runs first (the nestjs-cls plugin inside the app's CLS initializer, or the library's
 * interceptor when the app mounts none) fills it; later ones see it filled.
 */
export class MeshContextFiller {
  private readonly logger = new Logger('MeshContext');

  constructor(
    private readonly meshContext: MeshContext,
    private readonly extraKeys: readonly string[],
  ) {}

  /** Takes the request's context, unless this request's scope already has it. */
  fill(source: RequestSource): void {
    if (this.meshContext.callContext()?.incoming) return;
    const { context, refused } = incomingContext(source.read, Date.now(), source.deadline, this.extraKeys);
    if (refused.length > 0) {
      this.logger.debug(
        `incoming ${refused.join(', ')} not taken: not a value that may travel on (checked: printable ASCII, length; traceparent: W3C trace-context)`,
      );
    }
    this.meshContext.enter(context);
  }
}
