import type { RetryPolicy } from '../config/mesh-client-options.interface.js';
import type { MeshSecurityContext } from '../config/security-context.interface.js';

/** Policy set by `@MeshCallOptions()` for the mesh calls made while a handler runs. */
export interface HandlerCallOptions {
  timeoutMs?: number;
  retry?: Partial<RetryPolicy> | false;
}

/** What an outgoing call reads from the current request's context. */
export interface CallContext {
  readonly security: MeshSecurityContext | undefined;
  readonly callOptions: HandlerCallOptions | undefined;
  /** Filled from the incoming request already (by the CLS plugin or the interceptor). */
  readonly incoming?: boolean;
}
