import { status as Status } from '@grpc/grpc-js';
import { from, isObservable, map, type Observable, type ObservableInput } from 'rxjs';
import { describeThrown } from '../../errors/describe-thrown.js';
import { isMeshClientError, type MeshClientError } from '../../errors/mesh-client.error.js';
import { callerError, localError, type CallSite } from '../../errors/to-mesh-error.js';
import type { MethodInfo } from '../../proto/method-table.js';
import { RequestProblem } from '../../proto/request-check.js';

function isStreamInput(value: unknown): value is ObservableInput<unknown> {
  if (isObservable(value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  return Symbol.iterator in value || Symbol.asyncIterator in value || typeof (value as PromiseLike<unknown>).then === 'function';
}

/**
 * The encoded request stream of a client- or bidi-streaming call: each message checked and
 * encoded as it comes (`onMessage` counts it), from an Observable, array, iterable or AsyncIterable.
 * Throws RequestProblem when `requests` is none of these.
 */
export function encodedStream(method: MethodInfo, requests: unknown, onMessage?: () => void): Observable<Buffer> {
  if (!isStreamInput(requests)) {
    const got = requests === null ? 'null' : `a ${typeof requests}`;
    throw new RequestProblem(
      `'${method.name}' streams its requests: give an Observable (or an array, iterable or AsyncIterable) of messages, got ${got}`,
    );
  }
  return from(requests).pipe(
    map((message) => {
      onMessage?.();
      return method.encode(message);
    }),
  );
}

/** What a failing request stream fails the call with: the caller's own fault, never the server's. */
export function requestStreamFailure(site: CallSite, error: unknown, attempts: number): MeshClientError {
  if (isMeshClientError(error)) return error;
  if (error instanceof RequestProblem) return callerError(site, error.message, { attempts });
  return localError(site, Status.CANCELLED, `the request stream failed: ${describeThrown(error)}`, { attempts, cause: error, local: true });
}
