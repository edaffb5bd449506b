import type { Metadata } from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import { Observable, type Subscriber } from 'rxjs';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import { localError } from '../errors/to-mesh-error.js';
import { deadlineOptionsProblem, resolveDeadline } from '../resilience/deadline.js';
import type { ResolvedRetryPolicy } from '../resilience/retry-policy.js';
import { contextMetadata } from '../security/context-metadata.js';
import { InvalidMetadataError } from '../security/metadata.js';
import type { MeshSecurityContext } from '../security/security-context.interface.js';
import type { CallOptions } from './call-options.interface.js';
import type { ChannelHolder } from './channel-holder.js';
import type { MethodInfo } from './method-table.js';
import type { PipelineDeps, PipelinePolicy } from './pipeline-policy.js';
import { resilientCall$ } from './resilient-call.js';

/** Aborts one in-flight call with a reason (used when the client closes). */
export type CallAbort = (reason: string) => void;

/** Resolves a per-call retry override over the method's policy; throws MeshConfigError. */
export type CallRetryResolver = (override: CallOptions['retry'], base: ResolvedRetryPolicy | false) => ResolvedRetryPolicy | false;

/**
 * THE place where a call is put together, in this order: closed-check, per-call option checks,
 * deadline, metadata, then retry -> breaker -> attempt (resilientCall$). Metrics and tracing wrap
 * this from the outside when they arrive; nothing else composes per-call operators.
 */
export class CallPipeline {
  private readonly inflight = new Set<CallAbort>();
  private closedReason: string | undefined;

  constructor(
    private readonly channels: ChannelHolder,
    private readonly policy: () => PipelinePolicy,
    private readonly deps: PipelineDeps,
    private readonly resolveCallRetry: CallRetryResolver,
  ) {}

  /** Calls in flight right now. */
  get inflightCount(): number {
    return this.inflight.size;
  }

  /** Refuses new calls and aborts the ones in flight. */
  close(reason: string): void {
    this.closedReason = reason;
    for (const abort of [...this.inflight]) abort(reason);
  }

  /** A cold Observable of one call of `method`. */
  call<T>(method: MethodInfo, request: unknown, options: CallOptions | undefined): Observable<T> {
    return new Observable<T>((subscriber) => {
      const site = method.site;
      if (this.closedReason !== undefined) {
        subscriber.error(localError(site, Status.UNAVAILABLE, this.closedReason, { category: 'unavailable', retryable: false }));
        return;
      }
      const policy = this.policy();
      const methodPolicy = policy.method(method.name);
      const context = this.deps.context?.();
      const security = context?.security;
      const handler = context?.callOptions;
      let retry = methodPolicy.retry;
      const problem = deadlineOptionsProblem(options?.timeoutMs, options?.deadline);
      if (problem) return subscriber.error(localError(site, Status.INVALID_ARGUMENT, problem));
      const retryOverride = options?.retry ?? handler?.retry;
      if (retryOverride !== undefined) {
        try {
          retry = this.resolveCallRetry(retryOverride, retry);
        } catch (error) {
          if (!(error instanceof MeshConfigError)) throw error;
          return subscriber.error(localError(site, Status.INVALID_ARGUMENT, error.message));
        }
      }
      const signal = options?.signal;
      if (signal?.aborted) return subscriber.error(localError(site, Status.CANCELLED, "aborted by the caller's AbortSignal before it started"));
      const abort: CallAbort = (reason) => subscriber.error(localError(site, Status.CANCELLED, reason));
      this.inflight.add(abort);
      subscriber.add(() => this.inflight.delete(abort));
      if (signal) {
        const onAbort = (): void => abort("aborted by the caller's AbortSignal");
        signal.addEventListener('abort', onAbort, { once: true });
        subscriber.add(() => signal.removeEventListener('abort', onAbort));
      }
      const deadline = resolveDeadline(this.deps.now(), {
        callTimeoutMs: options?.timeoutMs ?? (options?.deadline ? undefined : handler?.timeoutMs),
        callDeadline: options?.deadline,
        methodTimeoutMs: methodPolicy.timeoutMs,
        clientTimeoutMs: policy.options.timeoutMs,
        inheritedDeadline: security?.deadline,
      });
      const fromContext = security ? contextMetadata(security, this.deps.contextExtraKeys ?? []) : undefined;
      const start = (dynamic: Record<string, string> | undefined): void => {
        let metadata: Metadata;
        try {
          metadata = policy.metadata.build(fromContext, dynamic, options?.metadata);
        } catch (error) {
          if (!(error instanceof InvalidMetadataError)) throw error;
          return subscriber.error(localError(site, Status.INVALID_ARGUMENT, error.message));
        }
        const plan = { channels: this.channels, method, request, metadata, deadline, retry, idempotent: methodPolicy.idempotent, policy, deps: this.deps };
        resilientCall$<T>(plan).subscribe(subscriber);
      };
      if (!policy.metadata.isDynamic) start(undefined);
      else startDynamic(policy, security, subscriber, method, start);
    });
  }
}

function startDynamic<T>(
  policy: PipelinePolicy,
  security: MeshSecurityContext | undefined,
  subscriber: Subscriber<T>,
  method: MethodInfo,
  start: (d: Record<string, string>) => void,
): void {
  const fail = (error: unknown): void => {
    const reason = error instanceof Error ? error.message : String(error);
    subscriber.error(localError(method.site, Status.INTERNAL, `the client's metadata function failed: ${reason}`, { category: 'internal', cause: error }));
  };
  try {
    const entries = policy.metadata.dynamicEntries(security) ?? {};
    if (!(entries instanceof Promise)) return start(entries);
    entries.then((e) => subscriber.closed || start(e), fail);
  } catch (error) {
    fail(error);
  }
}
