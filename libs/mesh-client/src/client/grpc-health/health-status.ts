/** A gRPC health status (grpc.health.v1.HealthCheckResponse.ServingStatus). */
export type HealthStatus = 'SERVING' | 'NOT_SERVING' | 'SERVICE_UNKNOWN' | 'UNKNOWN';

const KNOWN = new Set<HealthStatus>(['SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN', 'UNKNOWN']);

/** The status in a health response, 'UNKNOWN' for anything unexpected. */
export function statusOf(response: unknown): HealthStatus {
  const s = (response as { status?: unknown } | null)?.status;
  return KNOWN.has(s as HealthStatus) ? (s as HealthStatus) : 'UNKNOWN';
}
