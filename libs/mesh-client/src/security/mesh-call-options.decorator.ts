import { SetMetadata, createParamDecorator, type ExecutionContext } from '@nestjs/common';
import { ClsServiceManager } from 'nestjs-cls';
import type { HandlerCallOptions } from './call-context.interface.js';
import { readCallContext } from './mesh-context.service.js';
import type { MeshSecurityContext } from '../config/security-context.interface.js';

/** Metadata key of `@MeshCallOptions`. */
export const MESH_CALL_OPTIONS = '@datapunk/mesh-client:call-options';

/**
 * Sets the policy of every mesh call made while the decorated handler (or every handler of the
 * decorated controller) runs. A call's own options still win; a handler's win over its controller's.
 *
 * @example
 * @MeshCallOptions({ timeoutMs: 300, retry: false })
 * @Get('quote') quote() { ... }
 */
export const MeshCallOptions = (options: HandlerCallOptions): ClassDecorator & MethodDecorator =>
  SetMetadata(MESH_CALL_OPTIONS, Object.freeze({ ...options }));

/**
 * Hands the handler the caller's `MeshSecurityContext` (undefined outside of a request).
 *
 * @example
 * @Get() list(@CurrentSecurityContext() ctx: MeshSecurityContext) { ... }
 */
export const CurrentSecurityContext = createParamDecorator(
  (_data: unknown, _ctx: ExecutionContext): MeshSecurityContext | undefined => readCallContext(ClsServiceManager.getClsService())?.security,
);
