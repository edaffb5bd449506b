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
  const put = (key: string, value: string): void => {
    if (skip?.has(key)) return;
    if (!CARRIABLE.test(value)) throw new InvalidMetadataError(metadataProblem(key, value) ?? `metadata '${key}' has a value gRPC cannot send`);
    target.set(key, value);
    bytes += key.length + value.length;
  };
  if (ctx.token) put('authorization', `Bearer ${ctx.token}`);
  if (ctx.requestId) put('x-request-id', ctx.requestId);
  if (ctx.tenant) put('x-tenant-id', ctx.tenant);
  if (ctx.traceparent) put('traceparent', ctx.traceparent);
  if (ctx.extra && allowedExtra.length > 0) {
    for (const key of allowedExtra) {
      const value = ctx.extra[key];
      if (value === undefined || skip?.has(key)) continue;
      if (!key.endsWith('-bin')) put(key, value);
      else {
        const bytesValue = Buffer.from(value);
        target.set(key, bytesValue);
        bytes += key.length + bytesValue.length;
      }
    }
  }
  return bytes;
}
