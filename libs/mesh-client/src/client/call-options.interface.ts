import type { RetryPolicy } from '../module/mesh-client-options.interface.js';

/** Options of one call. */
export interface CallOptions {
  /** Overall deadline of this call, retries included; replaces the method's and client's. */
  timeoutMs?: number;
  /** Absolute deadline; with `timeoutMs` too, the earlier wins. */
  deadline?: Date;
  /** Metadata added to this call (keys ending in '-bin' take Buffers). */
  metadata?: Record<string, string | Buffer>;
  /** Retry override for this call; false disables retries. */
  retry?: Partial<RetryPolicy> | false;
  /** Aborting cancels the call on the wire; the subscriber gets a 'cancelled' error. */
  signal?: AbortSignal;
}
