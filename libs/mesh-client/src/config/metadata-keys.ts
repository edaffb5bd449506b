/** What a metadata key may be made of (grpc-js's rule, lowercase). */
export const METADATA_KEY = /^[0-9a-z_.-]+$/;

/**
 * Headers HTTP/2 forbids on a stream (connection-specific, RFC 9113 8.2.2) or that gRPC itself
 * sets: a call carrying one would be refused by the HTTP/2 layer (grpc-js then picks again and
 * again until the deadline) or would corrupt the request.
 */
export const TRANSPORT_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
  'te',
  'host',
  'content-length',
  'content-type',
]);

/** The keys of the security context itself: `trustIncoming` decides which of them an incoming request sets. */
export const CONTEXT_HEADERS: readonly string[] = ['authorization', 'x-request-id', 'x-tenant-id', 'traceparent'];
