import { MeshConfigError } from '../errors/mesh-config.error.js';
import { metadataProblem } from '../security/metadata.js';
import type { MeshClientPatch, MetadataSource } from '../config/mesh-client-options.interface.js';
import { MAX_TIMER_MS, OptionChecks, show } from './option-checks.js';
import { resolveConnection, resolvePoolSize } from './resolve-connection.js';
import { resolveMethods } from './resolve-methods.js';
import { resolveProto, type ProtoCache } from './resolve-proto.js';
import { resolveBreaker, resolveRetry } from './resolve-resilience.js';
import { checkedTarget } from './checked-target.js';
import { resolveTransport } from './resolve-transport.js';
import { resolveChannelOptions } from './resolve-channel-options.js';
import { resolveConcurrency } from './resolve-concurrency.js';
import { resolvePluginRefs } from './plugin-refs.js';
import { resolveXdsOption, resolveXdsTarget } from './resolve-xds.js';
import { CLIENT_DEFAULTS, MODULE_DEFAULTS, PATCH_KEYS, keysOf } from '../config/defaults.js';
import { resolveContextExtraKeys, resolveTrustIncoming } from './resolve-context.js';
import type { ResolvedClientOptions, ResolvedModuleOptions } from '../config/resolved-options.interface.js';
import type { ResolvedRetryPolicy } from '../config/policies.js';
import { DEFAULT_RETRY_POLICY } from '../resilience/retry-policy.js';

const CLIENT_KEYS = keysOf(CLIENT_DEFAULTS);
const NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,62}$/;
const TIMEOUT = { min: 0, max: MAX_TIMER_MS, exclusiveMin: true } as const;

/**
 * Nested option objects are merged one level deep over `defaults`; everything else replaces. The
 * transport is one choice, and a client's own wins: `insecure: true` takes none of the defaults'
 * `tls`, and a client's `tls` (merged over the defaults' `tls`) none of their `insecure`.
 */
export function mergeDefaults(defaults: Record<string, unknown>, client: Record<string, unknown>): Record<string, unknown> {
  const merged: Record<string, unknown> = { ...defaults };
  if (client.insecure === true) delete merged.tls;
  if (client.tls !== undefined) delete merged.insecure;
  for (const [key, value] of Object.entries(client)) {
    const base = merged[key];
    const mergeable =
      key !== 'proto' && key !== 'metadata' && typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
    merged[key] = mergeable && typeof base === 'object' && base !== null ? { ...base, ...value } : value;
  }
  return merged;
}

function resolveMetadata(check: OptionChecks, raw: unknown): MetadataSource | undefined {
  if (raw === undefined || typeof raw === 'function') return raw as MetadataSource | undefined;
  // a value given here by mistake is often a secret itself (`metadata: process.env.API_KEY`): never quoted
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    check.fail('metadata', 'must be an object of entries or a function of the context', raw, { secret: true });
  const entries = raw as Record<string, unknown>;
  for (const [key, value] of Object.entries(entries)) {
    const problem = metadataProblem(key, value);
    if (problem) throw new MeshConfigError(`${check.path}.metadata: ${problem}`);
  }
  return Object.freeze({ ...entries }) as Record<string, string>;
}

/** Validates one client (defaults already merged) and loads its proto. */
export function resolveClient(check: OptionChecks, raw: Record<string, unknown>, requireMtls: boolean, cache: ProtoCache): ResolvedClientOptions {
  check.knownKeys(raw, CLIENT_KEYS);
  const { serviceName, definition, fieldNaming } = resolveProto(check, raw.proto, cache);
  const maxMessageBytes = check.number('maxMessageBytes', raw.maxMessageBytes, CLIENT_DEFAULTS.maxMessageBytes, {
    min: 0,
    max: MAX_TIMER_MS,
    integer: true,
    exclusiveMin: true,
  });
  const retry = resolveRetry(check, raw.retry, DEFAULT_RETRY_POLICY);
  const transport = resolveTransport(check, raw, requireMtls);
  const xdsBootstrapOption = resolveXdsOption(check, raw.xds);
  return Object.freeze({
    name: raw.name as string,
    serviceName,
    serviceDefinition: definition,
    fieldNaming,
    ...transport,
    xdsBootstrapOption,
    xds: resolveXdsTarget(check, transport.target, xdsBootstrapOption),
    ...resolveConnection(check, raw, transport.loadBalancing),
    timeoutMs: check.number('timeoutMs', raw.timeoutMs, CLIENT_DEFAULTS.timeoutMs, TIMEOUT),
    maxMessageBytes,
    retry,
    breaker: resolveBreaker(check, raw.breaker),
    ...resolveMethods(check, raw.methods, definition, serviceName, retry),
    metadata: resolveMetadata(check, raw.metadata),
    maxMetadataBytes: check.number('maxMetadataBytes', raw.maxMetadataBytes, CLIENT_DEFAULTS.maxMetadataBytes, {
      min: 64,
      max: 1_048_576,
      integer: true,
    }),
    tracing: check.boolean('tracing', raw.tracing, CLIENT_DEFAULTS.tracing),
    metrics: check.boolean('metrics', raw.metrics, CLIENT_DEFAULTS.metrics),
    waitForReady: check.boolean('waitForReady', raw.waitForReady, CLIENT_DEFAULTS.waitForReady),
    plugins: resolvePluginRefs(check, raw.plugins),
    concurrency: resolveConcurrency(check, raw.concurrency),
    channelOptions: resolveChannelOptions(check, raw.channelOptions, transport.loadBalancing),
  });
}

/**
 * Merges defaults into every client and validates everything once. Throws `MeshConfigError`
 * naming the client and the field. Never mutates `raw`.
 */
export function resolveModuleOptions(raw: unknown, expectedNames?: readonly string[], givenPlugins: unknown = []): ResolvedModuleOptions {
  const root: OptionChecks = new OptionChecks('MeshClientModule options');
  const options = root.object('', raw);
  root.knownKeys(options, keysOf(MODULE_DEFAULTS));
  const plugins = [...resolvePluginRefs(root, givenPlugins), ...resolvePluginRefs(root, options.plugins)];
  const contextExtraKeys = resolveContextExtraKeys(root, options.contextExtraKeys);
  const trustIncoming = resolveTrustIncoming(root, options.trustIncoming);
  if (!Array.isArray(options.clients)) root.fail('clients', 'must be an array of client options', options.clients);
  const defaults = options.defaults === undefined ? {} : root.object('defaults', options.defaults);
  if (defaults.name !== undefined) root.fail('defaults.name', 'is not a default: each client names itself (clients[i].name)', defaults.name);
  const requireMtls = root.boolean('requireMtls', options.requireMtls, process.env.NODE_ENV === 'production');
  const cache: ProtoCache = new Map();
  const seen = new Set<string>();
  const clients = (options.clients as unknown[]).map((entry, i) => {
    const bare: OptionChecks = new OptionChecks(`clients[${String(i)}]`);
    const own = bare.object('', entry);
    const name = own.name;
    if (typeof name !== 'string' || !NAME.test(name))
      bare.fail('name', 'must be a name of letters, digits, _ . - starting with a letter (at most 63)', name);
    if (seen.has(name)) bare.fail('name', 'must be unique: another client already has it', name);
    seen.add(name);
    return namingClient(name, () => resolveClient(bare, mergeDefaults(defaults, own), requireMtls, cache));
  });
  sameXdsBootstrap(clients);
  if (expectedNames) {
    const missing = expectedNames.filter((n) => !seen.has(n));
    const extra = [...seen].filter((n) => !expectedNames.includes(n));
    if (missing.length > 0 || extra.length > 0) {
      throw new MeshConfigError(
        `MeshClientModule.forRootAsync: clientNames ${show(expectedNames.join(','))} and the clients returned by useFactory must match` +
          (missing.length ? `; missing: ${missing.join(', ')}` : '') +
          (extra.length ? `; not in clientNames: ${extra.join(', ')}` : ''),
      );
    }
  }
  return Object.freeze({
    clients: Object.freeze(clients),
    plugins: Object.freeze(plugins),
    requireMtls,
    contextExtraKeys,
    trustIncoming,
    pluginInitTimeoutMs: root.number('pluginInitTimeoutMs', options.pluginInitTimeoutMs, MODULE_DEFAULTS.pluginInitTimeoutMs, TIMEOUT),
  });
}

/**
 * Runs `resolve` for client `name`: its MeshConfigError (which names the field by its path, as
 * `clients[1].retry.maxAttempts ...`) also names the client, at the end: `... (client 'inventory')`.
 */
function namingClient<T>(name: string, resolve: () => T): T {
  try {
    return resolve();
  } catch (error) {
    if (!(error instanceof MeshConfigError)) throw error;
    throw new MeshConfigError(`${error.message} (client '${name}')`, error.cause === undefined ? undefined : { cause: error.cause });
  }
}

/** grpc-js-xds has one bootstrap per process: clients that give their own must agree. */
function sameXdsBootstrap(clients: readonly ResolvedClientOptions[]): void {
  const own = clients.filter((c) => c.xds?.source === 'xds.bootstrap');
  const other = own.find((c) => c.xds!.text !== own[0]!.xds!.text);
  if (other) {
    throw new MeshConfigError(
      `client '${other.name}'.xds.bootstrap differs from client '${own[0]!.name}''s: the xDS bootstrap is process-wide in @grpc/grpc-js-xds, every client must use the same one`,
    );
  }
}

/** Validates a per-call `retry` override over the method's policy. Throws MeshConfigError. */
export function resolveCallRetry(override: unknown, base: ResolvedRetryPolicy | false): ResolvedRetryPolicy | false {
  return resolveRetry(new OptionChecks('CallOptions'), override, base);
}

/** Validates a `MeshClient.update()` patch against the client's current options. */
export function resolvePatch(current: ResolvedClientOptions, patch: MeshClientPatch): ResolvedClientOptions {
  const check = new OptionChecks(`update() of client '${current.name}'`);
  const raw = check.object('', patch);
  check.knownKeys(raw, PATCH_KEYS);
  let target = current.target;
  if (raw.target !== undefined) {
    target = checkedTarget(check, raw.target);
  }
  const xds = raw.target === undefined ? current.xds : resolveXdsTarget(check, target, current.xdsBootstrapOption);
  // a partial retry patch applies over the client's current policy
  const newRetry = resolveRetry(check, raw.retry, current.retry);
  // (null is no "unchanged": it is checked, and refused, as at start)
  const methods = raw.methods !== undefined ? raw.methods : raw.retry === undefined ? undefined : current.methodOptions;
  return Object.freeze({
    ...current,
    timeoutMs: check.number('timeoutMs', raw.timeoutMs, current.timeoutMs, TIMEOUT),
    target,
    xds,
    poolSize: resolvePoolSize(check, raw.pool, current.poolSize),
    retry: newRetry,
    breaker: raw.breaker === undefined ? current.breaker : resolveBreaker(check, raw.breaker, current.breaker || undefined),
    ...(methods === undefined ? {} : resolveMethods(check, methods, current.serviceDefinition, current.serviceName, newRetry)),
    metadata: 'metadata' in raw ? resolveMetadata(check, raw.metadata) : current.metadata,
  });
}
