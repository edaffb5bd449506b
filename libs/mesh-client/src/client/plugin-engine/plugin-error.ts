import { status as Status } from '@grpc/grpc-js';
import { causeWithoutSecrets, describeThrown, withoutSecret, type Secrets } from '../../errors/describe-thrown.js';
import type { MeshClientError } from '../../errors/mesh-client.error.js';
import { localError, type CallSite } from '../../errors/to-mesh-error.js';
import { safeText } from '../../errors/safe-text.js';
import type { MeshClientPlugin } from '../../config/mesh-plugin.interface.js';

/**
 * A plugin hook threw (or its Observable failed with something else than a MeshClientError). The
 * call's tokens (`secrets`), which a plugin refusing one may quote, are masked in the text and the cause.
 */
export function pluginError(
  site: CallSite,
  plugin: MeshClientPlugin,
  hook: string,
  thrown: unknown,
  attempts = 0,
  secrets?: Secrets,
): MeshClientError {
  const reason = safeText(withoutSecret(describeThrown(thrown), secrets), 300);
  return localError(site, Status.INTERNAL, `plugin '${plugin.name}' failed in ${hook}: ${reason}`, {
    category: 'internal',
    retryable: false,
    attempts,
    cause: causeWithoutSecrets(thrown, secrets),
    local: true,
  });
}
