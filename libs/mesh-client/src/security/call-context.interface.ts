import type { RetryPolicy } from '../config/mesh-client-options.interface.js';
import type { MeshSecurityContext } from '../config/security-context.interface.js';

/** Policy set by `@MeshCallOptions()` for the mesh calls made while a handler runs. */
export interface HandlerCallOptions {
  /** Overall deadline of each call (a call's own `timeoutMs` still wins). */
  timeoutMs?: number;
  /** Retry policy of each call, over the method's and the client's; false disables retries. Hedged methods keep their hedging. */
  retry?: Partial<RetryPolicy> | false;
}

/** What an outgoing call reads from the current request's context. */
export interface CallContext {
  readonly security: MeshSecurityContext | undefined;
  readonly callOptions: HandlerCallOptions | undefined;
  /**
   * No incoming request's headers go into it any more: they were taken in (from the request the
   * CLS plugin kept, or by the interceptor), or it is a scope of its own (`MeshContext.run`).
   */
  readonly filled?: boolean;
}
