import { randomUUID } from 'node:crypto';
import type { MeshSecurityContext } from './security-context.interface.js';
import { parseGrpcTimeout } from './grpc-timeout.js';

/** Reads one header or metadata value. */
export type HeaderReader = (name: string) => string | undefined;

const BEARER = /^Bearer\s+(.+)$/i;

/**
 * The security context of an incoming request (HTTP headers or gRPC metadata): bearer token from
 * `authorization`, `x-request-id` (a new UUID when absent), `x-tenant-id`, `traceparent`, the
 * deadline from `deadline` (a gRPC call's own) or the `grpc-timeout` header, and the `extra` keys
 * allowed by configuration.
 */
export function incomingContext(read: HeaderReader, now: number, deadline: Date | undefined, extraKeys: readonly string[]): MeshSecurityContext {
  const ctx: MeshSecurityContext = { requestId: read('x-request-id') || randomUUID() };
  const token = BEARER.exec(read('authorization') ?? '')?.[1];
  if (token) ctx.token = token;
  const tenant = read('x-tenant-id');
  if (tenant) ctx.tenant = tenant;
  const traceparent = read('traceparent');
  if (traceparent) ctx.traceparent = traceparent;
  const timeoutMs = parseGrpcTimeout(read('grpc-timeout'));
  const effective = deadline && Number.isFinite(deadline.getTime()) ? deadline : timeoutMs === undefined ? undefined : new Date(now + timeoutMs);
  if (effective) ctx.deadline = effective;
  if (extraKeys.length > 0) {
    const extra: Record<string, string> = {};
    for (const key of extraKeys) {
      const value = read(key);
      if (value !== undefined) extra[key] = value;
    }
    ctx.extra = extra;
  }
  return ctx;
}
