import type { ServiceDefinition } from '@grpc/grpc-js';
import { methodAliases } from '../proto/method-names.js';
import { rpcNameOf } from '../proto/method-table.js';
import { METHOD_DEFAULTS, keysOf } from '../config/defaults.js';
import { didYouMean } from '../errors/did-you-mean.js';
import type { ResolvedRetryPolicy } from '../config/policies.js';
import type { MethodPolicy } from '../config/mesh-client-options.interface.js';
import { MAX_TIMER_MS, type OptionChecks } from './option-checks.js';
import { resolveHedging, resolveRetry } from './resolve-resilience.js';
import type { ResolvedMethodPolicy } from '../config/resolved-options.interface.js';

const TIMEOUT = { min: 0, max: MAX_TIMER_MS, exclusiveMin: true } as const;

/** Every name an RPC of `service` answers to (RPC name, Nest's name, lowerCamel), to its RPC name. */
export function rpcNamesByAlias(service: ServiceDefinition): Map<string, string> {
  const names = new Map<string, string>();
  for (const [key, def] of Object.entries(service)) {
    const rpc = rpcNameOf(key, def);
    for (const alias of methodAliases(rpc, (def as { originalName?: unknown }).originalName)) if (!names.has(alias)) names.set(alias, rpc);
    names.set(rpc, rpc);
  }
  return names;
}

/**
 * Validates `methods` against the service's RPCs (keyed by RPC name or any alias, e.g. Nest's
 * `getItem`) and resolves each over the client's retry policy; the result is keyed by RPC name.
 */
export function resolveMethods(
  check: OptionChecks,
  raw: unknown,
  service: ServiceDefinition,
  serviceName: string,
  clientRetry: ResolvedRetryPolicy | false,
): { methodOptions: Record<string, MethodPolicy>; methods: Map<string, ResolvedMethodPolicy> } {
  const methodOptions: Record<string, MethodPolicy> = {};
  const methods = new Map<string, ResolvedMethodPolicy>();
  if (raw === undefined) return { methodOptions, methods };
  const byAlias = rpcNamesByAlias(service);
  const given = new Map<string, string>();
  for (const [name, value] of Object.entries(check.object('methods', raw))) {
    const rpc = byAlias.get(name);
    const rpcs = [...new Set(byAlias.values())];
    if (rpc === undefined)
      check.fail(`methods.${name}`, `is not an RPC of ${serviceName} (RPCs: ${rpcs.join(', ')})${didYouMean(name, byAlias.keys())}`, name);
    const twice = given.get(rpc);
    if (twice !== undefined) check.fail(`methods.${name}`, `names the same RPC as methods.${twice} (${rpc}); give one entry per RPC`, name);
    given.set(rpc, name);
    const at = check.at(`methods.${name}`);
    const policy = at.object('', value);
    at.knownKeys(policy, keysOf(METHOD_DEFAULTS));
    methodOptions[rpc] = Object.freeze({ ...policy }) as MethodPolicy;
    const idempotent = at.boolean('idempotent', policy.idempotent, METHOD_DEFAULTS.idempotent);
    const def = Object.values(service).find((d) => rpcNameOf('', d) === rpc)!;
    const hedging = resolveHedging(at, policy, idempotent, def.requestStream || def.responseStream);
    methods.set(rpc, {
      timeoutMs: policy.timeoutMs === undefined ? undefined : at.number('timeoutMs', policy.timeoutMs, 0, TIMEOUT),
      retry: hedging ? false : resolveRetry(at, policy.retry, clientRetry),
      idempotent,
      hedging,
    });
  }
  return { methodOptions: Object.freeze(methodOptions), methods };
}
