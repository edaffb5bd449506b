import { MeshConfigError } from '../errors/mesh-config.error.js';
import { callerError } from '../errors/to-mesh-error.js';
import type { MeshClientError } from '../errors/mesh-client.error.js';
import { resolveDeadline } from '../resilience/deadline.js';
import type { ResolvedRetryPolicy } from '../resilience/retry-policy.js';
import type { ResolvedHedgingPolicy } from '../config/policies.js';
import type { CallContext } from '../security/call-context.interface.js';
import type { CallOptions } from './call-options.interface.js';
import { callOptionsProblem } from './call-options.js';
import type { MethodInfo } from './method-table.js';
import type { PipelinePolicy } from './pipeline-policy.js';

/** Resolves a per-call retry override over the method's policy; throws MeshConfigError. */
export type CallRetryResolver = (override: CallOptions['retry'], base: ResolvedRetryPolicy | false) => ResolvedRetryPolicy | false;

/** What one call runs with, decided once when it is subscribed. */
export interface CallSettings {
  readonly deadline: number;
  readonly retry: ResolvedRetryPolicy | false;
  readonly idempotent: boolean;
  readonly waitForReady: boolean;
  /** The method hedges (and this call was not asked for a single attempt). */
  readonly hedging: ResolvedHedgingPolicy | undefined;
}

/**
 * Merges, for one call, in order of precedence: the call's own options, the handler's
 * `@MeshCallOptions`, the method's policy, the client's; the incoming request's deadline only
 * shortens. Returns a MeshClientError ('invalid-request') for bad per-call options.
 */
export function callSettings(
  method: MethodInfo,
  options: CallOptions | undefined,
  policy: PipelinePolicy,
  context: CallContext | undefined,
  resolveRetry: CallRetryResolver,
  now: number,
): CallSettings | MeshClientError {
  const problem = callOptionsProblem(options);
  if (problem) return callerError(method.site, problem);
  const methodPolicy = policy.method(method.name);
  const handler = context?.callOptions;
  let retry = methodPolicy.retry;
  let hedging = methodPolicy.hedging;
  const override = options?.retry ?? handler?.retry;
  if (hedging && override !== undefined) {
    if (override !== false)
      return callerError(
        method.site,
        `'${method.name}' hedges (methods.${method.name}.hedging): a retry policy does not apply to it; retry: false sends a single attempt`,
      );
    hedging = undefined;
  } else if (override !== undefined) {
    try {
      retry = resolveRetry(override, retry);
    } catch (error) {
      if (!(error instanceof MeshConfigError)) throw error;
      return callerError(method.site, error.message);
    }
  }
  const deadline = resolveDeadline(now, {
    callTimeoutMs: options?.timeoutMs ?? (options?.deadline ? undefined : handler?.timeoutMs),
    callDeadline: options?.deadline,
    methodTimeoutMs: methodPolicy.timeoutMs,
    clientTimeoutMs: policy.options.timeoutMs,
    inheritedDeadline: context?.security?.deadline,
  });
  return { deadline, retry, idempotent: methodPolicy.idempotent, waitForReady: options?.waitForReady ?? policy.options.waitForReady, hedging };
}
