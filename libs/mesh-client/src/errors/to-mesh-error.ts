import { status as Status, type Metadata } from '@grpc/grpc-js';
import { classifyStatus, type MeshErrorCategory } from './error-category.js';
import { MeshClientError, isLocalFailure, isMeshClientError, type MeshClientErrorInit } from './mesh-client.error.js';
import { describeThrown } from './describe-thrown.js';
import { tlsFailureReason } from './tls-failure.js';

/** Where a call went: what every error of that call names. */
export interface CallSite {
  readonly client: string;
  readonly service: string;
  readonly method: string;
  /** The client's message size limit, quoted when a message is refused for its size. */
  readonly maxMessageBytes: number;
}

interface StatusLike {
  code: number;
  details?: string;
  metadata?: Metadata;
}

function isStatusLike(value: unknown): value is StatusLike {
  return typeof value === 'object' && value !== null && typeof (value as StatusLike).code === 'number';
}

function sizeHint(code: number, details: string, site: CallSite): string | undefined {
  if (code !== Status.RESOURCE_EXHAUSTED || !/larger than/i.test(details)) return undefined;
  return `The message size limit is maxMessageBytes=${String(site.maxMessageBytes)} bytes; raise maxMessageBytes on client '${site.client}' if larger messages are expected.`;
}

/**
 * grpc-js reports a stream the peer reset with RST_STREAM(CANCEL) as CANCELLED 'Call cancelled';
 * that is what a server going away (shutdown, restart) looks like. The caller did not cancel (its
 * own cancellations never reach here), so it is reported as UNAVAILABLE, which retries handle.
 */
function peerReset(error: StatusLike): StatusLike {
  if (error.code !== Status.CANCELLED || error.details !== 'Call cancelled') return error;
  return {
    code: Status.UNAVAILABLE,
    details: 'the server reset the stream (RST_STREAM CANCEL: it is shutting down or restarting)',
    metadata: error.metadata,
  };
}

const isKnownCode = (code: number): boolean => Number.isInteger(code) && code >= 0 && code <= 16;

/**
 * A status a peer sent is trusted only when its code is one of the 17 gRPC codes: anything else
 * (grpc-js reads `grpc-status` with Number(), so 'abc' arrives as NaN, '99' as 99) becomes
 * UNKNOWN, so a server can neither mint metric label values nor steer retries with it.
 */
function knownStatus(error: StatusLike): StatusLike {
  if (isKnownCode(error.code)) return error;
  const said = error.details ? `: ${error.details}` : '';
  return { code: Status.UNKNOWN, details: `the server sent an unrecognised status code (${String(error.code)})${said}`, metadata: error.metadata };
}

/** Local details end as a sentence does. */
const sentence = (text: string): string => (/[.?!)]$/.test(text) ? text : `${text}.`);

/**
 * grpc-js reports a stream it tore down because the HTTP/2 session failed on this side (the peer
 * broke the protocol, e.g. a header over HPACK's 64 KiB field limit: Node drops the connection
 * with COMPRESSION_ERROR) as INTERNAL "... triggered by internal client error". The connection is
 * gone for every call on it, unrelated ones included: that is UNAVAILABLE, which retries handle.
 */
function droppedConnection(error: StatusLike): StatusLike {
  if (error.code !== Status.INTERNAL || !error.details?.includes('triggered by internal client error')) return error;
  return {
    code: Status.UNAVAILABLE,
    details: `the connection was dropped: the server broke the HTTP/2 protocol (${error.details})`,
    metadata: error.metadata,
  };
}

/**
 * The one classifier: turns whatever a call failed with (a grpc-js status error, a local error, a
 * thrown non-Error) into a `MeshClientError` naming the call site. A `MeshClientError` passes as is.
 * An UNAVAILABLE is read for a TLS failure ('tls', not retryable) only when `ownTls` says it may be
 * this client's own TLS connection failing: the same words in a status a server (or a proxy
 * reporting its own upstream) sent are that server's story, not this client's.
 */
export function toMeshError(error: unknown, site: CallSite, attempts: number, ownTls = false): MeshClientError {
  if (isMeshClientError(error)) return error;
  if (isStatusLike(error)) {
    const status = droppedConnection(peerReset(knownStatus(error)));
    const cls = classifyStatus(status.code);
    const details = typeof status.details === 'string' ? status.details : error instanceof Error ? describeThrown(error) : '';
    const tls = ownTls && status.code === Status.UNAVAILABLE ? tlsFailureReason(details) : undefined;
    return new MeshClientError({
      ...cls,
      ...(tls ? { category: 'tls' as const, retryable: false } : {}),
      ...siteOf(site),
      code: status.code,
      attempts,
      details,
      trailers: status.metadata,
      cause: error,
      hint: tls ? `TLS: ${tls}.` : sizeHint(status.code, details, site),
    });
  }
  // grpc-js ends a call it could not process (e.g. a compressed response without grpc-encoding)
  // with a ServiceError whose code and details are undefined
  const statusless = typeof error === 'object' && error !== null && 'details' in error && (error as StatusLike).details === undefined;
  const details = statusless
    ? 'grpc-js ended the call without a status: it could not process the response (e.g. a message compressed without grpc-encoding)'
    : describeThrown(error);
  return new MeshClientError({ ...classifyStatus(Status.UNKNOWN), ...siteOf(site), code: Status.UNKNOWN, attempts, details, cause: error });
}

/** A failure produced by the library itself (before or instead of a wire call). */
export function localError(
  site: CallSite,
  code: number,
  details: string,
  extra: { category?: MeshErrorCategory; retryable?: boolean; attempts?: number; cause?: unknown; local?: boolean } = {},
): MeshClientError {
  const cls = classifyStatus(code);
  return new MeshClientError({
    codeName: cls.codeName,
    category: extra.category ?? cls.category,
    retryable: extra.retryable ?? cls.retryable,
    ...siteOf(site),
    code,
    attempts: extra.attempts ?? 0,
    details: sentence(details),
    cause: extra.cause,
    local: extra.local,
  });
}

/**
 * The caller's own mistake (a bad request, options, metadata or request stream): 'invalid-request',
 * never retryable, nothing counted against the server.
 */
export function callerError(site: CallSite, details: string, extra: { attempts?: number; cause?: unknown } = {}): MeshClientError {
  return localError(site, Status.INVALID_ARGUMENT, details, { ...extra, retryable: false, local: true });
}

function siteOf(site: CallSite): { client: string; service: string; method: string } {
  return { client: site.client, service: site.service, method: site.method };
}

/** A copy of `error` with some of its fields changed (errors are immutable). */
function changed(error: MeshClientError, change: Partial<MeshClientErrorInit>): MeshClientError {
  const { code, codeName, category, retryable, attempts, client, service, method, details, trailers, cause } = error;
  return new MeshClientError({
    code,
    codeName,
    category,
    retryable,
    attempts,
    client,
    service,
    method,
    details,
    trailers,
    cause,
    local: isLocalFailure(error),
    ...change,
  });
}

/** `error` (a connection failure) as what it turned out to be: the server refused this client's TLS session. */
export function tlsRefused(error: MeshClientError, reason: string): MeshClientError {
  return changed(error, { category: 'tls', retryable: false, hint: `TLS: ${reason}.` });
}

/** `error` counting `attempts` (the copies of a hedged call, of which it is one). */
export function withAttempts(error: unknown, attempts: number): unknown {
  return isMeshClientError(error) && error.attempts !== attempts ? changed(error, { attempts }) : error;
}
