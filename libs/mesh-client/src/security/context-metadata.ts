import type { Metadata } from '@grpc/grpc-js';
import type { MeshSecurityContext } from '../config/security-context.interface.js';
import { InvalidMetadataError, metadataProblem } from './metadata.js';

/** A value gRPC metadata carries unchanged: printable ASCII without edge spaces. */
const CARRIABLE = /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/;

/**
 * Writes the metadata an outgoing call carries for a security context into `target`: only
 * `authorization` (the token), `x-request-id`, `x-tenant-id`, `traceparent`, and the `extra` keys
 * named in `allowedExtra`; nothing else of the context leaves the process. This is the hot path of
 * every call made for a request: the keys are fixed or checked at start, so only the values are
 * checked, once each.
 * Keys in `skip` are left alone (the client's static entries win). Throws InvalidMetadataError
 * naming the key (never the value). Returns the bytes added.
 */
export function putContext(
  target: Metadata,
  ctx: MeshSecurityContext,
  allowedExtra: readonly string[],
  skip: ReadonlySet<string> | undefined,
): number {
  let bytes = 0;
  if (ctx.token) bytes += put(target, skip, 'authorization', `Bearer ${ctx.token}`);
  if (ctx.requestId) bytes += put(target, skip, 'x-request-id', ctx.requestId);
  if (ctx.tenant) bytes += put(target, skip, 'x-tenant-id', ctx.tenant);
  if (ctx.traceparent) bytes += put(target, skip, 'traceparent', ctx.traceparent);
  if (ctx.extra && allowedExtra.length > 0) {
    for (const key of allowedExtra) {
      const value = ctx.extra[key];
      if (value === undefined) continue;
      if (!key.endsWith('-bin')) bytes += put(target, skip, key, value);
      else if (!skip?.has(key)) {
        const bytesValue = Buffer.from(value);
        target.set(key, bytesValue);
        bytes += key.length + bytesValue.length;
      }
    }
  }
  return bytes;
}

/** One text entry (unless `skip` has its key), its value checked; returns the bytes added. */
function put(target: Metadata, skip: ReadonlySet<string> | undefined, key: string, value: string): number {
  if (skip?.has(key)) return 0;
  if (!CARRIABLE.test(value)) throw new InvalidMetadataError(metadataProblem(key, value) ?? `metadata '${key}' has a value gRPC cannot send`);
  target.set(key, value);
  return key.length + value.length;
}
