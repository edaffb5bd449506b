import { status as Status, type Metadata } from '@grpc/grpc-js';
import { Observable, type Subscriber } from 'rxjs';
import { isMeshClientError, type MeshClientError } from '../errors/mesh-client.error.js';
import { localError } from '../errors/to-mesh-error.js';
import type { CallObservation, CallTelemetry } from '../observability/call-telemetry.js';
import type { CallPlan } from './call-engine.js';
import type { CallOptions } from './call-options.interface.js';
import { callSettings, type CallRetryResolver } from './call-settings.js';
import type { ChannelPool } from './channel-pool.js';
import { FLOW_CONTROL, type FlowControl } from './flow-control.js';
import type { MethodInfo } from './method-table.js';
import type { ClientDeps, PipelinePolicy } from './pipeline-policy.js';
import { buildMetadata, callOutput, linkAbortSignal, runAttempts, type RunProgress } from './pipeline-steps.js';

export type { CallRetryResolver } from './call-settings.js';

/** Aborts one in-flight call with a reason (used when the client closes). */
export type CallAbort = (reason: string) => void;

/**
 * THE place where a call is put together, in this order: closed-check, per-call settings (options,
 * handler policy, deadline), telemetry (metrics + tracing) outermost, metadata (context, client,
 * call), then the attempts (runCall: request encoding, retry, breaker, attempt). Nothing else
 * composes per-call work.
 */
export class CallPipeline {
  private readonly inflight = new Set<CallAbort>();
  private closedReason: string | undefined;
  private onIdle: (() => void) | undefined;

  constructor(
    private readonly channels: ChannelPool,
    private readonly policy: () => PipelinePolicy,
    private readonly deps: ClientDeps,
    private readonly resolveCallRetry: CallRetryResolver,
    private readonly telemetry: CallTelemetry | undefined,
  ) {}

  /** Calls in flight right now. */
  get inflightCount(): number {
    return this.inflight.size;
  }

  /**
   * Refuses new calls from now on, waits up to `drainMs` for the calls in flight to end, then
   * cancels whatever is left.
   */
  async shutdown(reason: string, drainMs: number): Promise<void> {
    this.closedReason = reason;
    if (this.inflight.size > 0 && drainMs > 0) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, drainMs);
        this.onIdle = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.onIdle = undefined;
    }
    const left = `${reason}; the call did not finish within drainTimeoutMs=${String(drainMs)}`;
    for (const abort of [...this.inflight]) abort(left);
  }

  /**
   * A cold Observable of one call of `method`. Each subscription runs the steps in order: refuse
   * when closed, settle the call's settings, observe (telemetry, response metadata), track (in
   * flight, AbortSignal), build the metadata, run the attempts.
   */
  call<T>(method: MethodInfo, request: unknown, options: CallOptions | undefined): Observable<T> {
    return new Observable<T>((subscriber) => {
      const site = method.site;
      if (this.closedReason !== undefined) {
        return subscriber.error(localError(site, Status.UNAVAILABLE, this.closedReason, { category: 'unavailable', retryable: false }));
      }
      const policy = this.policy();
      const context = this.deps.context?.();
      const settings = callSettings(method, options, policy, context, this.resolveCallRetry, this.deps.now());
      if (isMeshClientError(settings)) return subscriber.error(settings);
      if (options?.signal?.aborted)
        return subscriber.error(localError(site, Status.CANCELLED, "aborted by the caller's AbortSignal before it started"));
      const security = context?.security;
      const obs = this.telemetry?.begin(method, security?.traceparent);
      const output = callOutput(subscriber, obs, options, site);
      const progress: RunProgress = { run: undefined };
      const fail = (error: MeshClientError): void => output.out.error(error);
      const abort: CallAbort = (reason) => fail(localError(site, Status.CANCELLED, reason, { attempts: progress.run?.attempts ?? 0 }));
      this.track(subscriber, abort, obs);
      linkAbortSignal(options?.signal, subscriber, abort);
      const start = (metadata: Metadata): void => {
        obs?.inject(metadata);
        const flow = (options as { [FLOW_CONTROL]?: FlowControl } | undefined)?.[FLOW_CONTROL];
        const plan: CallPlan = {
          channels: this.channels,
          method,
          metadata,
          settings,
          policy,
          deps: this.deps,
          onRetry: obs && ((e) => obs.onRetry(e)),
          onHedge: obs && (() => obs.hedged()),
          extras: output.extras,
          flow,
        };
        runAttempts({ plan, request, output, subscriber, plugins: policy.plugins.get(method.name), security, obs, progress });
      };
      buildMetadata({ source: policy.metadata, security, options, method, subscriber, start, fail });
    });
  }

  /** Keeps the call among those in flight until its subscriber is done. */
  private track(subscriber: Subscriber<unknown>, abort: CallAbort, obs: CallObservation | undefined): void {
    this.inflight.add(abort);
    subscriber.add(() => {
      this.inflight.delete(abort);
      if (this.inflight.size === 0) this.onIdle?.();
      obs?.cancel();
    });
  }
}
