import type { MeshSecurityContext } from '../config/security-context.interface.js';

/**
 * The metadata an outgoing call carries for a security context: only the listed keys, and the
 * `extra` keys named in `allowedExtra`. Nothing else of the context leaves the process.
 */
export function contextMetadata(ctx: MeshSecurityContext, allowedExtra: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  if (ctx.token) out.authorization = `Bearer ${ctx.token}`;
  if (ctx.requestId) out['x-request-id'] = ctx.requestId;
  if (ctx.tenant) out['x-tenant-id'] = ctx.tenant;
  if (ctx.traceparent) out.traceparent = ctx.traceparent;
  if (ctx.extra && allowedExtra.length > 0) {
    for (const key of allowedExtra) {
      const value = ctx.extra[key];
      if (value !== undefined) out[key] = value;
    }
  }
  return out;
}
