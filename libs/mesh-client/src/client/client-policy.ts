import type { ResolvedClientOptions, ResolvedMethodPolicy } from '../config/resolved-options.interface.js';
import { BreakerSet, type ScopedTransition } from '../resilience/breaker-set.js';
import { RetryBudget } from '../resilience/retry-budget.js';
import { ConcurrencyLimiter } from '../resilience/concurrency-limiter.js';
import type { MeshMetrics } from '../observability/mesh-metrics.js';
import type { CallContext } from '../security/call-context.interface.js';
import { CallMetadata } from './call/call-metadata.js';
import type { MethodInfo } from '../proto/method-table.js';
import type { MeshClientPlugin } from '../config/mesh-plugin.interface.js';
import { pluginsByMethod, type MethodPlugins } from './plugin-engine/plugin-set.js';

/** What a client is given to run: clock, randomness, the request context, listeners, metrics, plugins. */
export interface ClientDeps {
  readonly now: () => number;
  readonly random: () => number;
  readonly onBreakerChange?: (change: ScopedTransition) => void;
  /** The current request's context (security context, handler policy); undefined outside one. */
  readonly context?: () => CallContext | undefined;
  /** Keys of `MeshSecurityContext.extra` allowed on outgoing calls. */
  readonly contextExtraKeys?: readonly string[];
  /** The application's mesh metrics (absent when the module runs without them). */
  readonly metrics?: MeshMetrics;
  /** Where the client reports operational events (never secrets). */
  readonly logger?: { warn(message: string): void; log(message: string): void };
  /** The client's plugins, module plugins first. */
  readonly plugins?: readonly MeshClientPlugin[];
}

/** What the calls of a client read; replaced as a whole by `update()`, so in-flight calls keep theirs. */
export interface ClientPolicy {
  readonly options: ResolvedClientOptions;
  readonly metadata: CallMetadata;
  readonly budget: RetryBudget | undefined;
  readonly breakers: BreakerSet | undefined;
  /** The policy of `method`: its own, or the client's. */
  method(name: string): ResolvedMethodPolicy;
  /** The plugins of each method any plugin applies to (asked once per method, again on update). */
  readonly plugins: ReadonlyMap<string, MethodPlugins>;
  /** The client's concurrency limit, if it has one (one for the client's life). */
  readonly limiter: ConcurrencyLimiter | undefined;
}

/**
 * Builds a pipeline policy. The retry budget and breakers of `previous` are kept when their
 * settings did not change, so an update of, say, a timeout does not reset their state.
 */
export function clientPolicy(
  options: ResolvedClientOptions,
  deps: ClientDeps,
  methods: ReadonlyMap<string, MethodInfo>,
  previous?: ClientPolicy,
): ClientPolicy {
  const budgetPolicy = options.retry ? options.retry.budget : false;
  const oldBudget = previous?.budget;
  const budget =
    budgetPolicy === false
      ? undefined
      : oldBudget && oldBudget.policy.maxTokens === budgetPolicy.maxTokens && oldBudget.policy.tokenRatio === budgetPolicy.tokenRatio
        ? oldBudget
        : new RetryBudget(budgetPolicy);
  const breakers =
    options.breaker === false
      ? undefined
      : previous?.breakers?.policy === options.breaker
        ? previous.breakers
        : new BreakerSet(options.breaker, deps.now, deps.onBreakerChange);
  const fallback: ResolvedMethodPolicy = { timeoutMs: undefined, retry: options.retry, idempotent: false };
  const method = (name: string): ResolvedMethodPolicy => options.methods.get(name) ?? fallback;
  return {
    options,
    metadata:
      previous && previous.options.metadata === options.metadata && previous.options.maxMetadataBytes === options.maxMetadataBytes
        ? previous.metadata
        : new CallMetadata(options.metadata, options.maxMetadataBytes, deps.contextExtraKeys),
    budget,
    breakers,
    method,
    plugins: pluginsByMethod(deps.plugins ?? [], methods.values(), (rpc) => method(rpc).idempotent),
    limiter: previous ? previous.limiter : limiterOf(options, deps),
  };
}

/**
 * `next` replaced `previous` (an update that took): breakers it replaced fall silent (calls in
 * flight still record on them, but their state is no longer the client's), and whoever watched
 * them hears that the client's breakers start closed.
 */
export function retireReplaced(previous: ClientPolicy, next: ClientPolicy, deps: ClientDeps): void {
  const old = previous.breakers;
  if (!old || old === next.breakers) return;
  old.retire();
  for (const [scope, from] of old.states()) if (from !== 'closed') deps.onBreakerChange?.({ scope, from, to: 'closed' });
}

function limiterOf(options: ResolvedClientOptions, deps: ClientDeps): ConcurrencyLimiter | undefined {
  if (!options.concurrency) return undefined;
  const metrics = options.metrics ? deps.metrics : undefined;
  return new ConcurrencyLimiter(options.concurrency, deps.now, deps.random, {
    onLimit: metrics && ((limit) => metrics.concurrencyLimit(options.name, limit)),
    onLimited: metrics && ((reason) => metrics.limited(options.name, reason)),
  });
}
