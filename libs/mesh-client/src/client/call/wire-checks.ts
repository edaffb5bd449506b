import { connectivityState, status as Status, type Metadata } from '@grpc/grpc-js';
import type { MeshClientError } from '../../errors/mesh-client.error.js';
import { safeText } from '../../errors/safe-text.js';
import { localError, type CallSite } from '../../errors/to-mesh-error.js';
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
 * than application/grpc (an HTML error page of a proxy or a web server, answering 200). grpc-js
 * does not look: it read such a body as gRPC frames (`<htm` as a length: "larger than max") or took
 * it as a success. Headers without a content-type pass.
 */
export function notGrpcAnswer(headers: Metadata, site: CallSite, attempts: number): MeshClientError | undefined {
  const type = headers.get('content-type')[0];
  if (type === undefined || (typeof type === 'string' && GRPC_CONTENT.test(type))) return undefined;
  const details = `the peer is not a gRPC server: it answered with content-type '${safeText(String(type), 64)}'`;
  return localError(site, Status.UNKNOWN, details, { attempts });
}
