import type { Metadata } from '@grpc/grpc-js';

/** Trailer a server sets to tell the client when (or whether) to retry, gRFC A6. */
export const PUSHBACK_TRAILER = 'grpc-retry-pushback-ms';

/** What the server's pushback says: nothing, wait exactly `ms`, or do not retry. */
export type Pushback = { kind: 'none' } | { kind: 'wait'; ms: number } | { kind: 'stop' };

const NONE: Pushback = { kind: 'none' };
const STOP: Pushback = { kind: 'stop' };

/**
 * Reads `grpc-retry-pushback-ms` from trailers. A non-negative integer means wait exactly that
 * long; a negative or malformed value means do not retry (grpc-js would retry at once on a
 * malformed value; a server that tried to say something and failed should not get a storm).
 */
export function readPushback(trailers: Metadata | undefined): Pushback {
  const values = trailers?.get(PUSHBACK_TRAILER);
  if (!values || values.length === 0) return NONE;
  const raw = String(values[0]).trim();
  if (!/^\d{1,10}$/.test(raw)) return STOP;
  return { kind: 'wait', ms: Number(raw) };
}
