import { status as Status } from '@grpc/grpc-js';
import { describeThrown } from '../../errors/describe-thrown.js';
import type { MeshClientError } from '../../errors/mesh-client.error.js';
import { callerError, localError, type CallSite } from '../../errors/to-mesh-error.js';
import { RequestProblem } from '../../proto/request-problem.js';

/** The errors the request streams raise themselves (`cannot be sent again`): those fail the call as they are. */
const OWN_ERRORS = new WeakSet<MeshClientError>();

/**
 * What a failing request stream fails the call with: the caller's own fault, never the server's.
 * A MeshClientError the caller's stream fails with (another call's, bridged in) is wrapped like any
 * other error: it names the other call and must not be retried, counted by this client's breaker
 * nor spend its retry budget.
 */
export function requestStreamFailure(site: CallSite, error: unknown, attempts: number): MeshClientError {
  // (local: never retried nor counted, wherever it is fed in again)
  if (OWN_ERRORS.has(error as MeshClientError)) return error as MeshClientError;
  if (isRequestProblem(error)) return callerError(site, error.message, { attempts });
  return localError(site, Status.CANCELLED, `the request stream failed: ${describeThrown(error)}`, { attempts, cause: error, local: true });
}

/** Whether `error` is the request check's (never throws: a caller's value may be a hostile Proxy). */
function isRequestProblem(error: unknown): error is RequestProblem {
  try {
    return error instanceof RequestProblem;
  } catch {
    return false;
  }
}

/** `error`, marked as the request source's own (it fails the call as it is). */
export function ownRequestError(error: MeshClientError): MeshClientError {
  OWN_ERRORS.add(error);
  return error;
}
