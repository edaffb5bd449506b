import { createRequire } from 'node:module';

/** The optional peer that teaches grpc-js the `xds:` scheme. */
export const XDS_PACKAGE = '@grpc/grpc-js-xds';

interface XdsPackage {
  register(): void;
}

/** @grpc/grpc-js-xds could not be loaded (usually: it is not installed). */
export class XdsPackageMissingError extends Error {
  constructor(cause: unknown) {
    super(`the optional package ${XDS_PACKAGE} is not installed (npm install ${XDS_PACKAGE}@~1.14); it is needed for xds:/// targets`, { cause });
    this.name = 'XdsPackageMissingError';
  }
}

const require = createRequire(import.meta.url);
let loaded: XdsPackage | undefined;
let registered = false;

function isNotFound(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'MODULE_NOT_FOUND' || code === 'ERR_MODULE_NOT_FOUND';
}

/**
 * Loads @grpc/grpc-js-xds on first use only (never for clients without an xds target). Throws
 * `XdsPackageMissingError` when it cannot be resolved; any other failure as it is.
 */
export function loadXdsPackage(): XdsPackage {
  if (loaded) return loaded;
  try {
    loaded = require(XDS_PACKAGE) as XdsPackage;
  } catch (error) {
    if (isNotFound(error)) throw new XdsPackageMissingError(error);
    throw error;
  }
  return loaded;
}

/** Registers the `xds:` resolver and its load balancers with grpc-js, once per process. */
export function registerXds(): void {
  if (registered) return;
  loadXdsPackage().register();
  registered = true;
}
