import type { status } from '@grpc/grpc-js';
import { hasBrand } from './mesh-client.error.js';

const BRAND = Symbol.for('@datapunk/mesh-client/MeshAttemptFault');

/**
 * Thrown by a `beforeAttempt` hook, ends the attempt with this status instead of sending it, as if
 * the server had answered so: retried by the retry policy, counted by the breaker and the retry
 * budget like a server's answer (the FaultInjectionPlugin works this way).
 */
export class MeshAttemptFault extends Error {
  constructor(
    /** The status the attempt ends with: a failure code, 1..16 (any other is the plugin's error, 'internal'). */
    readonly code: status,
    /** Status details, as a server would send them. */
    readonly details: string,
  ) {
    super(details);
    this.name = 'MeshAttemptFault';
  }

  /** @internal brand checked by {@link isMeshAttemptFault}. */
  get [BRAND](): true {
    return true;
  }
}

/** True for a MeshAttemptFault, also one from another copy of this package. */
export function isMeshAttemptFault(value: unknown): value is MeshAttemptFault {
  return hasBrand(value, BRAND);
}
