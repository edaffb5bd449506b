import { status as Status } from '@grpc/grpc-js';
import type { GrpcCall } from './wire-attempt.js';

/**
 * Cancels a grpc-js call on the next turn of the event loop. grpc-js 1.14 makes the call's stream
 * a few microtasks after `start` and does not look whether the call was cancelled meanwhile: a
 * cancel in the same tick as the start (a caller leaving at once, a request stream failing at its
 * first read) is lost, and the stream goes out and stays open on the server until the deadline,
 * taking one of its concurrent streams. The attempt's outcome does not wait for it.
 */
export function cancelSoon(call: GrpcCall): void {
  setImmediate(() => {
    try {
      call.cancelWithStatus(Status.CANCELLED, 'Cancelled on client');
    } catch {
      // (grpc-js does not throw here; a throw would otherwise reach the event loop)
    }
  });
}
