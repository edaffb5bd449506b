import type { XdsBootstrap } from '../config/policies.js';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import { XdsBootstrapError, findBootstrap } from '../xds/xds-bootstrap.js';
import { XdsPackageMissingError, loadXdsPackage } from '../xds/xds-package.js';
import type { OptionChecks } from './option-checks.js';
import { show } from './option-checks.js';
import { isXdsTarget } from '../config/target.js';

/** Validates the `xds` options object (its shape only); returns its `bootstrap` as given. */
export function resolveXdsOption(check: OptionChecks, raw: unknown): unknown {
  if (raw === undefined) return undefined;
  const xds = check.object('xds', raw);
  check.at('xds').knownKeys(xds, ['bootstrap']);
  return xds.bootstrap;
}

/**
 * What an xds target needs at start: @grpc/grpc-js-xds installed and a usable bootstrap (from the
 * option or the environment). Undefined for other targets. Throws MeshConfigError naming the field.
 */
export function resolveXdsTarget(check: OptionChecks, target: string, bootstrapOption: unknown): XdsBootstrap | undefined {
  if (!isXdsTarget(target)) return undefined;
  try {
    loadXdsPackage();
  } catch (error) {
    if (!(error instanceof XdsPackageMissingError)) throw error;
    throw new MeshConfigError(`${check.where('target')} ${show(target)} is an xDS target: ${error.message}`, { cause: error });
  }
  try {
    return findBootstrap(bootstrapOption);
  } catch (error) {
    if (!(error instanceof XdsBootstrapError)) throw error;
    throw new MeshConfigError(`${check.where(error.field)} ${error.message}`);
  }
}
