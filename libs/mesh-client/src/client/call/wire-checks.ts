import { connectivityState, status as Status, type Metadata } from '@grpc/grpc-js';
import type { MeshClientError } from '../../errors/mesh-client.error.js';
import { withoutSecret } from '../../errors/describe-thrown.js';
import { safeText } from '../../errors/safe-text.js';
import { localError, type CallSite } from '../../errors/to-mesh-error.js';
import { credentialValues } from '../../security/metadata.js';
import type { ChannelLease } from '../channels/channel-pool.js';

// Two checks of an attempt's wire that grpc-js does not make.

/**
 * grpc-js has no connect timeout: an attempt on a channel that cannot connect waits in its pick
 * queue until the deadline. This tells `attempt` after `ms` (connectTimeoutMs; 0: never) if the
 * channel is still not connected then, to fail with a retryable UNAVAILABLE. Costs nothing on a
 * connected channel.
 */
export function connectTimer(lease: ChannelLease, ms: number, attempt: { connectTimedOut(details: string): void }): NodeJS.Timeout | undefined {
  if (!ms) return undefined;
  const channel = lease.client.getChannel();
  if (channel.getConnectivityState(false) === connectivityState.READY) return undefined;
  return setTimeout(() => {
    if (channel.getConnectivityState(false) === connectivityState.READY) return;
    attempt.connectTimedOut(`no connection to ${channel.getTarget()} within connectTimeoutMs=${String(ms)}`);
  }, ms);
}

const GRPC_CONTENT = /^application\/grpc(?:[+;]|$)/i;

/**
 * The failure of an attempt whose response headers are not a gRPC server's: a content-type other
 * than application/grpc (an HTML page of a proxy or a web server). Headers without a content-type
 * pass. An HTTP error status (a proxy's 503 while its upstream is down) stays grpc-js's mapping of
 * it (UNAVAILABLE, retried: {@link keepsItsStatus}).
 */
export function notGrpcAnswer(headers: Metadata, sent: Metadata, site: CallSite, attempts: number): MeshClientError | undefined {
  const type = headers.get('content-type')[0];
  if (type === undefined || (typeof type === 'string' && GRPC_CONTENT.test(type))) return undefined;
  // (a peer echoing the attempt's credentials there has them masked, as in its status)
  const quoted = safeText(withoutSecret(String(type), credentialValues(sent)), 64);
  const details = `the peer is not a gRPC server: it answered with content-type '${quoted}'`;
  return localError(site, Status.UNKNOWN, details, { attempts });
}

const HTTP_ERROR = /^Received HTTP status code (\d+)$/;

/**
 * Whether an attempt answered with a non-gRPC content-type keeps the status grpc-js ended it with:
 * one mapped from an HTTP error status (a proxy's 502, 503, 404: 'Received HTTP status code 503'),
 * or its deadline (as any attempt that hangs). Anything else grpc-js ended such an answer with (an
 * OK from a 200 page whose bytes happened to parse, its decoder's "larger than max" for `<htm` read
 * as a length, no status at all, a 200 "mapped") is the answer's failure.
 */
export function keepsItsStatus(status: { code: number; details: string }): boolean {
  if (status.code === Status.DEADLINE_EXCEEDED) return true;
  const http = HTTP_ERROR.exec(status.details);
  return status.code !== Status.OK && http !== null && http[1] !== '200';
}
