import type { Metadata } from '@grpc/grpc-js';
import type { RetryPolicy } from './mesh-client-options.interface.js';

/** Options of one call. Checked before anything is sent: a bad one fails the call with 'invalid-request'. */
export interface CallOptions {
  /** Overall deadline of this call, retries included; replaces the method's and client's. At most 2^31-1. */
  timeoutMs?: number;
  /** Absolute deadline; with `timeoutMs` too, the earlier wins. */
  deadline?: Date;
  /** Metadata added to this call: a record (keys ending in '-bin' take Buffers) or a grpc-js Metadata. */
  metadata?: Record<string, string | Buffer> | Metadata;
  /** Retry override for this call; false disables retries. */
  retry?: Partial<RetryPolicy> | false;
  /** Aborting cancels the call on the wire; the subscriber gets a 'cancelled' error. */
  signal?: AbortSignal;
  /** The response headers of the attempt whose outcome the caller gets, before its first response. */
  onHeader?: (headers: Metadata) => void;
  /** The response trailers of that attempt, on success and on failure, before the call ends. */
  onTrailer?: (trailers: Metadata) => void;
  /** Wait for a connection (up to the deadline) instead of failing fast while there is none. Default: the client's. */
  waitForReady?: boolean;
}
