import { fileProblemOf, readConfiguredFileSync, type FileKind } from '../config/configured-file.js';
import type { XdsBootstrap } from '../config/policies.js';

/** Environment variables @grpc/grpc-js-xds reads its bootstrap from (in this order). */
export const BOOTSTRAP_FILE_ENV = 'GRPC_XDS_BOOTSTRAP';
export const BOOTSTRAP_CONFIG_ENV = 'GRPC_XDS_BOOTSTRAP_CONFIG';

/** The bootstrap cannot be used; the message says why (never the bootstrap's content). */
export class XdsBootstrapError extends Error {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(message);
    this.name = 'XdsBootstrapError';
  }
}

/** A bootstrap file: a few KB of JSON (servers, node, authorities). */
const BOOTSTRAP_FILE: FileKind = { name: 'an xDS bootstrap file', maxBytes: 1024 * 1024 };

function readText(path: string, field: string): string {
  try {
    return readConfiguredFileSync(path, BOOTSTRAP_FILE).toString('utf8');
  } catch (error) {
    throw new XdsBootstrapError(field, `cannot read the xDS bootstrap file '${path}': ${fileProblemOf(error)}`);
  }
}

/** Checks the parts of a bootstrap the client relies on; grpc-js-xds validates the rest. */
function check(text: string, source: string, field: string): XdsBootstrap {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // JSON.parse's message quotes the text, which may hold credentials: say where, not what
    throw new XdsBootstrapError(field, `the xDS bootstrap from ${source} is not valid JSON`);
  }
  const servers = (parsed as { xds_servers?: unknown } | null)?.xds_servers;
  const first = Array.isArray(servers) ? (servers[0] as { server_uri?: unknown } | undefined) : undefined;
  if (typeof first?.server_uri !== 'string' || first.server_uri === '') {
    throw new XdsBootstrapError(
      field,
      `the xDS bootstrap from ${source} needs xds_servers: [{ server_uri, channel_creds }] with at least one server`,
    );
  }
  return { source, text: JSON.stringify(parsed), serverUri: first.server_uri };
}

/** The text in the normalised form `check` gives, or undefined when it is not JSON. */
function canonicalOf(text: string): string | undefined {
  try {
    return JSON.stringify(JSON.parse(text));
  } catch {
    return undefined;
  }
}

/**
 * The bootstrap of an xds client: the `xds.bootstrap` option (an object, JSON text or a file path)
 * or else the standard environment (`GRPC_XDS_BOOTSTRAP` file, then `GRPC_XDS_BOOTSTRAP_CONFIG`).
 * grpc-js-xds keeps one bootstrap per process, so an option that differs from what the
 * environment already holds is refused rather than silently ignored.
 */
export function findBootstrap(option: unknown, env: NodeJS.ProcessEnv = process.env): XdsBootstrap {
  const file = env[BOOTSTRAP_FILE_ENV];
  const config = env[BOOTSTRAP_CONFIG_ENV];
  if (option === undefined) {
    if (file) return check(readText(file, 'target'), BOOTSTRAP_FILE_ENV, 'target');
    if (config) return check(config, BOOTSTRAP_CONFIG_ENV, 'target');
    throw new XdsBootstrapError(
      'target',
      `is an xDS target but no xDS bootstrap was given: set ${BOOTSTRAP_FILE_ENV} (a file) or ${BOOTSTRAP_CONFIG_ENV} (JSON), or the client's xds.bootstrap option`,
    );
  }
  const field = 'xds.bootstrap';
  let text: string;
  if (typeof option === 'object' && option !== null && !Array.isArray(option)) text = JSON.stringify(option);
  else if (typeof option === 'string' && option.trim().startsWith('{')) text = option;
  else if (typeof option === 'string' && option.trim() !== '') text = readText(option, field);
  else throw new XdsBootstrapError(field, 'must be a bootstrap object, its JSON text or the path of a bootstrap file');
  const bootstrap = check(text, field, field);
  if (file)
    throw new XdsBootstrapError(
      field,
      `conflicts with ${BOOTSTRAP_FILE_ENV}, set in the environment: the xDS bootstrap is process-wide in @grpc/grpc-js-xds, give it only once`,
    );
  if (config && canonicalOf(config) !== bootstrap.text) {
    throw new XdsBootstrapError(
      field,
      `differs from the xDS bootstrap already in use in this process (${BOOTSTRAP_CONFIG_ENV}): it is process-wide in @grpc/grpc-js-xds, every client must use the same one`,
    );
  }
  return bootstrap;
}

/** Hands a bootstrap from the option to grpc-js-xds (through its standard variable), once. */
export function installBootstrap(bootstrap: XdsBootstrap, env: NodeJS.ProcessEnv = process.env): void {
  if (bootstrap.source !== 'xds.bootstrap') return;
  env[BOOTSTRAP_CONFIG_ENV] ??= bootstrap.text;
}
