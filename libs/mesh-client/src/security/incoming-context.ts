import { randomUUID } from 'node:crypto';
import { TRUSTED_INCOMING_DEFAULT } from '../config/defaults.js';
import type { MeshSecurityContext, MeshTrustedHeader } from '../config/security-context.interface.js';
import { parseGrpcTimeout } from './grpc-timeout.js';

/** Reads the first value of one header or metadata key (a repeated header's first value counts). */
export type HeaderReader = (name: string) => string | undefined;

const BEARER = /^Bearer\s+(.+)$/i;
/** W3C trace-context version 00: trace id and parent id in lowercase hex, neither all zeros. */
const TRACEPARENT = /^00-(?!0{32})[0-9a-f]{32}-(?!0{16})[0-9a-f]{16}-[0-9a-f]{2}$/;
/** Printable ASCII without edge spaces (what gRPC metadata can carry unchanged). */
const PRINTABLE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

const printable = (value: string | undefined, max: number): value is string => value !== undefined && value.length <= max && PRINTABLE.test(value);

/** The incoming context, and the keys whose values were not taken (named, never quoted). */
export interface IncomingContext {
  readonly context: MeshSecurityContext;
  readonly refused: readonly string[];
}

/**
 * The security context of an incoming request (HTTP headers or gRPC metadata), from the parts the
 * application trusts (`trusted`, the module's `trustIncoming`): `traceparent`, `x-request-id` (a
 * new UUID when absent or unusable), the deadline from `deadline` (a gRPC call's own) or the
 * `grpc-timeout` header, the bearer token from `authorization`, `x-tenant-id`; and the `extra`
 * keys allowed by configuration. Nothing else is read. What travels on is checked, since it comes
 * from outside: a traceparent that is not W3C trace-context is dropped (a new trace starts), a
 * request id that is not printable ASCII of at most 128 characters is replaced, a token, tenant or
 * extra value that gRPC metadata cannot carry is dropped (it would fail every outgoing call).
 */
export function incomingContext(
  read: HeaderReader,
  now: number,
  deadline: Date | undefined,
  extraKeys: readonly string[],
  trusted: readonly MeshTrustedHeader[] = TRUSTED_INCOMING_DEFAULT,
): IncomingContext {
  const refused: string[] = [];
  const take = (key: string, value: string | undefined, max: number): string | undefined => {
    if (value === undefined || value === '') return undefined;
    if (printable(value, max)) return value;
    refused.push(key);
    return undefined;
  };
  const ctx: MeshSecurityContext = {};
  if (trusted.includes('requestId')) ctx.requestId = take('x-request-id', read('x-request-id'), 128) ?? randomUUID();
  const token = trusted.includes('token') ? take('authorization', BEARER.exec(read('authorization') ?? '')?.[1], 8192) : undefined;
  if (token) ctx.token = token;
  const tenant = trusted.includes('tenant') ? take('x-tenant-id', read('x-tenant-id'), 128) : undefined;
  if (tenant) ctx.tenant = tenant;
  const traceparent = trusted.includes('traceparent') ? read('traceparent') : undefined;
  if (traceparent !== undefined && TRACEPARENT.test(traceparent)) ctx.traceparent = traceparent;
  else if (traceparent !== undefined) refused.push('traceparent');
  if (trusted.includes('deadline')) {
    const timeoutMs = parseGrpcTimeout(read('grpc-timeout'));
    const effective = deadline && Number.isFinite(deadline.getTime()) ? deadline : timeoutMs === undefined ? undefined : new Date(now + timeoutMs);
    if (effective) ctx.deadline = effective;
  }
  if (extraKeys.length > 0) {
    const extra: Record<string, string> = {};
    for (const key of extraKeys) {
      const value = take(key, read(key), 1024);
      if (value !== undefined) extra[key] = value;
    }
    ctx.extra = extra;
  }
  return { context: ctx, refused };
}
