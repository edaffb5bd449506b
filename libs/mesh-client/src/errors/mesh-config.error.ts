import { causeWithoutSecrets } from './describe-thrown.js';

const BRAND = Symbol.for('@datapunk/mesh-client/MeshConfigError');

/**
 * Invalid module or client options: thrown while the Nest application starts, by
 * `MeshClient.update()` for an invalid patch (the old policy stays), and by lookups of a client or
 * service that is not there (`MeshClientRegistry.get()`, `getService()`). Never by a call (calls fail with MeshClientError). The message names
 * the client and the field, e.g. `clients[1].retry.maxAttempts must be an integer 1..5, got 9 (client 'inventory')`.
 */
export class MeshConfigError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options && 'cause' in options ? { cause: causeWithoutSecrets(options.cause) } : undefined);
    this.name = 'MeshConfigError';
  }

  /** @internal brand checked by {@link isMeshConfigError}. */
  get [BRAND](): true {
    return true;
  }
}

/** True for a `MeshConfigError`, also one thrown by another copy of this package. */
export function isMeshConfigError(value: unknown): value is MeshConfigError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}
