import { status as Status } from '@grpc/grpc-js';
import { describeThrown } from '../../errors/describe-thrown.js';
import type { MeshClientError } from '../../errors/mesh-client.error.js';
import { localError, type CallSite } from '../../errors/to-mesh-error.js';
import { safeText } from '../../errors/safe-text.js';
import type { MeshClientPlugin } from '../../config/mesh-plugin.interface.js';

/** A plugin hook threw (or its Observable failed with something else than a MeshClientError). */
export function pluginError(site: CallSite, plugin: MeshClientPlugin, hook: string, thrown: unknown, attempts = 0): MeshClientError {
  const reason = safeText(describeThrown(thrown), 300);
  return localError(site, Status.INTERNAL, `plugin '${plugin.name}' failed in ${hook}: ${reason}`, {
    category: 'internal',
    retryable: false,
    attempts,
    cause: thrown,
    local: true,
  });
}
