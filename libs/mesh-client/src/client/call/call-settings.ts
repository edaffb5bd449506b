import { MAX_TIMER_MS } from '../../config/defaults.js';
import { resolveCallRetry } from '../../options/resolve-options.js';
import { MeshConfigError } from '../../errors/mesh-config.error.js';
import { callerError } from '../../errors/to-mesh-error.js';
import type { MeshClientError } from '../../errors/mesh-client.error.js';
import { resolveDeadline } from '../../resilience/deadline.js';
import type { ResolvedRetryPolicy } from '../../config/policies.js';
import type { ResolvedHedgingPolicy } from '../../config/policies.js';
import type { CallContext } from '../../security/call-context.interface.js';
import type { CallOptions } from '../../config/call-options.interface.js';
import type { MethodInfo } from '../../proto/method-table.js';
import type { ClientPolicy } from '../client-policy.js';

/** What one call runs with, decided once when it is subscribed (its deadline aside). */
export interface CallSettings {
  readonly retry: ResolvedRetryPolicy | false;
  readonly idempotent: boolean;
  readonly waitForReady: boolean;
  /** The method hedges (and this call was not asked for a single attempt). */
  readonly hedging: ResolvedHedgingPolicy | undefined;
}

/** The settings of a call of `method` without options of its own (one object per method and policy). */
function defaultsOf(method: MethodInfo, policy: ClientPolicy): CallSettings {
  const methodPolicy = policy.method(method.name);
  return {
    retry: methodPolicy.retry,
    idempotent: methodPolicy.idempotent,
    waitForReady: policy.options.waitForReady,
    hedging: methodPolicy.hedging,
  };
}

const cache = new WeakMap<ClientPolicy, Map<string, CallSettings>>();

/**
 * Merges, for one call (its options already read by `readCallOptions`), in order of precedence: the call's own options, the handler's
 * `@MeshCallOptions`, the method's policy, the client's. A hedged method stays hedged under a
 * handler's retry policy (hedging is the method's own retry; only the call's `retry: false` turns
 * it into a single attempt). Returns a MeshClientError ('invalid-request') for bad per-call options.
 */
export function callSettings(
  method: MethodInfo,
  options: CallOptions | undefined,
  policy: ClientPolicy,
  context: CallContext | undefined,
): CallSettings | MeshClientError {
  const handlerRetry = context?.callOptions?.retry;
  if (options === undefined && handlerRetry === undefined) {
    let perMethod = cache.get(policy);
    if (!perMethod) cache.set(policy, (perMethod = new Map()));
    let settings = perMethod.get(method.name);
    if (!settings) perMethod.set(method.name, (settings = defaultsOf(method, policy)));
    return settings;
  }
  const base = defaultsOf(method, policy);
  let { retry, hedging } = base;
  const own = options?.retry;
  if (hedging && own !== undefined) {
    if (own !== false)
      return callerError(
        method.site,
        `'${method.name}' hedges (methods.${method.name}.hedging): a retry policy does not apply to it; retry: false sends a single attempt`,
      );
    hedging = undefined;
  } else if (!hedging && (own ?? handlerRetry) !== undefined) {
    try {
      retry = resolveCallRetry(own ?? handlerRetry, retry);
    } catch (error) {
      if (!(error instanceof MeshConfigError)) throw error;
      return callerError(method.site, error.message);
    }
  }
  return { retry, idempotent: base.idempotent, waitForReady: options?.waitForReady ?? base.waitForReady, hedging };
}

/**
 * The call's deadline (epoch ms): the call's own `timeoutMs` / `deadline`, else the handler's,
 * the method's or the client's timeout; the incoming request's deadline only shortens it.
 */
export function callDeadline(
  method: MethodInfo,
  options: CallOptions | undefined,
  policy: ClientPolicy,
  context: CallContext | undefined,
  now: number,
): number {
  const deadline = resolveDeadline(now, {
    callTimeoutMs: options?.timeoutMs ?? (options?.deadline ? undefined : context?.callOptions?.timeoutMs),
    callDeadline: options?.deadline,
    methodTimeoutMs: policy.method(method.name).timeoutMs,
    clientTimeoutMs: policy.options.timeoutMs,
    inheritedDeadline: context?.security?.deadline,
  });
  // every input was checked; a deadline no timer (nor grpc-js) can hold is clamped all the same
  return deadline <= now + MAX_TIMER_MS ? deadline : now + MAX_TIMER_MS;
}
