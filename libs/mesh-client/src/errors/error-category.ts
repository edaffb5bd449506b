import { status } from '@grpc/grpc-js';

/**
 * What kind of failure a call met, independent of the transport detail: `MeshClientError.category`.
 * Branch on it rather than on status codes. Failures on the caller's side (its request, options,
 * metadata or request stream) and the refusals made under load send nothing (`attempts` 0) and are
 * never retried.
 *
 * - `unavailable`: the server could not be reached, went away or reset the stream, or the client is
 *   closing (then not retryable). Retried by default (UNAVAILABLE is the only default retryable
 *   code). If it persists, check the target, the server and `connectTimeoutMs`.
 * - `timeout`: the call's deadline passed; `details` say where the call was (an attempt on the wire,
 *   the queue of a concurrency limit, a plugin, the metadata function). Raise `timeoutMs` for that
 *   method or find the slow part. An attempt's own `perAttemptTimeoutMs` is retried only for methods
 *   marked `idempotent`.
 * - `circuit-open`: the client's breaker is open and nothing was sent (code UNAVAILABLE,
 *   `retryable: true`). Fail fast or serve a fallback; the breaker lets a probe through after
 *   `openMs`.
 * - `cancelled`: the caller unsubscribed or aborted its `signal`, its request stream failed, or the
 *   application shut down. Usually nothing to do.
 * - `unauthenticated`: the server refused the call's credentials. Give a valid token; `TokenPlugin`
 *   refreshes its token once and replays the call.
 * - `permission-denied`: the caller is authenticated but not allowed. Not retryable: fix the
 *   caller's rights.
 * - `invalid-request`: the request was refused: by the server (INVALID_ARGUMENT,
 *   FAILED_PRECONDITION, OUT_OF_RANGE) or before sending (a field that is not in the message, a
 *   wrong type, bad call options or metadata, a message over `maxMessageBytes`, the wrong call
 *   kind). The message names the field; fix the request.
 * - `not-found`: the server answered NOT_FOUND: an answer, not a fault.
 * - `conflict`: ALREADY_EXISTS, or ABORTED (retryable: run the whole read-modify-write again).
 * - `resource-exhausted`: the server is out of a resource (retry later; a pushback trailer says
 *   when), or the client's concurrency limit refused the call (`attempts` 0, nothing sent).
 * - `unimplemented`: the server does not have the method, or the client's proto has no such
 *   method (then nothing is sent). Check that both sides use the same proto.
 * - `internal`: INTERNAL or DATA_LOSS from the server, or a plugin that threw (the message names
 *   it). Not retried by default.
 * - `tls`: the TLS handshake failed: the server presented the wrong identity, a certificate is
 *   expired or signed by an unknown CA, the client certificate is missing or refused, or the
 *   server speaks no TLS. Never retried: fix the certificates or `tls` options.
 * - `unknown`: UNKNOWN, a status code outside 0..16 (kept in `details`), or an answer that is no gRPC server's (a content-type other than application/grpc: a proxy's HTML page).
 */
export type MeshErrorCategory =
  | 'unavailable'
  | 'timeout'
  | 'circuit-open'
  | 'cancelled'
  | 'unauthenticated'
  | 'permission-denied'
  | 'invalid-request'
  | 'not-found'
  | 'conflict'
  | 'resource-exhausted'
  | 'unimplemented'
  | 'internal'
  | 'tls'
  | 'unknown';

/** One row of the status table: the category of a gRPC status code and whether it is transient. */
export interface StatusClass {
  readonly codeName: string;
  readonly category: MeshErrorCategory;
  /**
   * True when the same request may succeed if sent again later. This is advice to the caller; the
   * automatic retry policy uses its own `retryableCodes` (default: UNAVAILABLE only).
   */
  readonly retryable: boolean;
}

const row = (codeName: string, category: MeshErrorCategory, retryable = false): StatusClass => Object.freeze({ codeName, category, retryable });

/**
 * The one table that classifies all 17 gRPC status codes (docs/reference/errors.md shows it).
 * OK never reaches a subscriber as an error; its row exists so that the mapping is total.
 */
export const STATUS_TABLE: Readonly<Record<number, StatusClass>> = Object.freeze({
  [status.OK]: row('OK', 'unknown'),
  [status.CANCELLED]: row('CANCELLED', 'cancelled'),
  [status.UNKNOWN]: row('UNKNOWN', 'unknown'),
  [status.INVALID_ARGUMENT]: row('INVALID_ARGUMENT', 'invalid-request'),
  [status.DEADLINE_EXCEEDED]: row('DEADLINE_EXCEEDED', 'timeout'),
  [status.NOT_FOUND]: row('NOT_FOUND', 'not-found'),
  [status.ALREADY_EXISTS]: row('ALREADY_EXISTS', 'conflict'),
  [status.PERMISSION_DENIED]: row('PERMISSION_DENIED', 'permission-denied'),
  [status.RESOURCE_EXHAUSTED]: row('RESOURCE_EXHAUSTED', 'resource-exhausted', true),
  [status.FAILED_PRECONDITION]: row('FAILED_PRECONDITION', 'invalid-request'),
  [status.ABORTED]: row('ABORTED', 'conflict', true),
  [status.OUT_OF_RANGE]: row('OUT_OF_RANGE', 'invalid-request'),
  [status.UNIMPLEMENTED]: row('UNIMPLEMENTED', 'unimplemented'),
  [status.INTERNAL]: row('INTERNAL', 'internal'),
  [status.UNAVAILABLE]: row('UNAVAILABLE', 'unavailable', true),
  [status.DATA_LOSS]: row('DATA_LOSS', 'internal'),
  [status.UNAUTHENTICATED]: row('UNAUTHENTICATED', 'unauthenticated'),
});

/**
 * Classifies any status number, including ones outside 0..16 (a buggy peer may send them): those
 * are 'unknown', not retryable, named `STATUS_<n>`.
 */
export function classifyStatus(code: number): StatusClass {
  return STATUS_TABLE[code] ?? row(`STATUS_${String(code)}`, 'unknown');
}
