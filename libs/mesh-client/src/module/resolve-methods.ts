import type { ServiceDefinition } from '@grpc/grpc-js';
import type { ResolvedRetryPolicy } from '../resilience/retry-policy.js';
import type { MethodPolicy } from './mesh-client-options.interface.js';
import { MAX_TIMER_MS, type OptionChecks } from './option-checks.js';
import { resolveRetry } from './resolve-resilience.js';
import type { ResolvedMethodPolicy } from './resolved-options.interface.js';

const TIMEOUT = { min: 0, max: MAX_TIMER_MS, exclusiveMin: true } as const;

/** RPC names of a service definition. */
export function rpcNames(service: ServiceDefinition): string[] {
  return Object.values(service).map((d) => d.path.slice(d.path.lastIndexOf('/') + 1));
}

/** Validates `methods` against the service's RPCs and resolves each over the client's retry policy. */
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
  const names = rpcNames(service);
  for (const [name, value] of Object.entries(check.object('methods', raw))) {
    if (!names.includes(name)) check.fail(`methods.${name}`, `is not an RPC of ${serviceName} (RPCs: ${names.join(', ')})`, name);
    const at = check.at(`methods.${name}`);
    const policy = at.object('', value);
    at.knownKeys(policy, ['timeoutMs', 'retry', 'idempotent']);
    methodOptions[name] = Object.freeze({ ...policy }) as MethodPolicy;
    methods.set(name, {
      timeoutMs: policy.timeoutMs === undefined ? undefined : at.number('timeoutMs', policy.timeoutMs, 0, TIMEOUT),
      retry: resolveRetry(at, policy.retry, clientRetry),
      idempotent: at.boolean('idempotent', policy.idempotent, false),
    });
  }
  return { methodOptions: Object.freeze(methodOptions), methods };
}
