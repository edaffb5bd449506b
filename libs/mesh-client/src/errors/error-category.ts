import { status } from '@grpc/grpc-js';

/** What kind of failure a call met, independent of the transport detail. */
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
 * The one table that classifies all 17 gRPC status codes (README "Errors" documents it).
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
