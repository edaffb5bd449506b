/**
 * Who is calling and on whose behalf: carried from an incoming request to every outgoing mesh
 * call made while handling it. Only these keys (and `extra` keys allowed by configuration) ever
 * leave the process.
 */
export interface MeshSecurityContext {
  /** Bearer token, sent as `authorization: Bearer <token>`. Never logged. */
  token?: string;
  /** Authenticated principal, e.g. a user id or a SPIFFE id. */
  subject?: string;
  /** Tenant the request acts for (`x-tenant-id`). */
  tenant?: string;
  /** Correlation id (`x-request-id`). */
  requestId?: string;
  /** W3C trace context of the incoming request. */
  traceparent?: string;
  /** Deadline of the incoming request; outgoing calls never outlive it. */
  deadline?: Date;
  /** Further keys, sent only when allowed by configuration. */
  extra?: Record<string, string>;
}

/**
 * A part of the security context an incoming request (HTTP headers, gRPC metadata) may fill:
 * `traceparent` (W3C trace context), `requestId` (`x-request-id`), `deadline` (a gRPC call's own,
 * or an HTTP `grpc-timeout`), `token` (`authorization: Bearer`), `tenant` (`x-tenant-id`).
 */
export type MeshTrustedHeader = 'traceparent' | 'requestId' | 'deadline' | 'token' | 'tenant';
