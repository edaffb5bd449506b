import { status as Status, type Metadata } from '@grpc/grpc-js';
import { Observable, tap, type Observer, type Subscriber } from 'rxjs';
import { isMeshClientError, type MeshClientError } from '../errors/mesh-client.error.js';
import { describeThrown } from '../errors/describe-thrown.js';
import { callerError, localError } from '../errors/to-mesh-error.js';
import type { CallObservation, CallTelemetry } from '../observability/call-telemetry.js';
import { InvalidMetadataError } from '../security/metadata.js';
import type { MeshSecurityContext } from '../config/security-context.interface.js';
import type { AttemptExtras, CallPlan, CallRun } from './call-engine.js';
import { FLOW_CONTROL, type FlowControl } from './flow-control.js';
import { runLimited } from './limited-call.js';
import type { CallOptions } from './call-options.interface.js';
import { callSettings, type CallRetryResolver } from './call-settings.js';
import type { ChannelPool } from './channel-pool.js';
import type { MethodInfo } from './method-table.js';
import type { ClientDeps, PipelinePolicy } from './pipeline-policy.js';
import { AttemptPlugins } from './plugins/attempt-plugins.js';
import { intercepted } from './plugins/intercept-chain.js';
import { MeshCallState, type CallProgress } from './plugins/mesh-call.js';
import type { MeshCall } from '../config/mesh-plugin.interface.js';
import { ResponseMetadata } from './response-metadata.js';

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

  /** A cold Observable of one call of `method`. */
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
      const signal = options?.signal;
      if (signal?.aborted) return subscriber.error(localError(site, Status.CANCELLED, "aborted by the caller's AbortSignal before it started"));
      const security = context?.security;
      const obs = this.telemetry?.begin(method, security?.traceparent);
      let out: Observer<T> = obs ? new ObservedCall(subscriber, obs) : subscriber;
      let response: { metadata: ResponseMetadata<T>; extras: AttemptExtras } | undefined;
      if (options?.onHeader || options?.onTrailer) {
        const metadata = new ResponseMetadata(out, options, site);
        out = metadata;
        response = { metadata, extras: { listener: (n) => metadata.listener(n) } };
      }
      let run: CallRun | undefined;
      const fail = (error: MeshClientError): void => out.error(error);
      const abort: CallAbort = (reason) => fail(localError(site, Status.CANCELLED, reason, { attempts: run?.attempts ?? 0 }));
      this.track(subscriber, abort, obs);
      if (signal) {
        const onAbort = (): void => abort("aborted by the caller's AbortSignal");
        signal.addEventListener('abort', onAbort, { once: true });
        subscriber.add(() => signal.removeEventListener('abort', onAbort));
      }
      const start = (dynamic: Record<string, string> | undefined): void => {
        if (subscriber.closed) return; // left while an async metadata function ran
        let metadata: Metadata;
        try {
          metadata = policy.metadata.build(security, dynamic, options?.metadata);
        } catch (error) {
          if (!(error instanceof InvalidMetadataError)) throw error;
          return fail(callerError(site, error.message));
        }
        obs?.inject(metadata);
        const flow = (options as { [FLOW_CONTROL]?: FlowControl } | undefined)?.[FLOW_CONTROL];
        const plan: CallPlan = { channels: this.channels, method, metadata, settings, policy, deps: this.deps, onRetry: obs && ((e) => obs.onRetry(e)), onHedge: obs && (() => obs.hedged()), extras: response?.extras, flow };
        const plugins = policy.plugins.get(method.name);
        if (!plugins) {
          const own = runLimited<T>(policy.limiter, plan, obs ? countSent(method, request, obs) : request, out);
          run = own;
          subscriber.add(() => own.stop());
          return;
        }
        const progress: CallProgress = { run: undefined };
        const call = new MeshCallState(plugins.info, request, metadata, new Date(settings.deadline), security, progress);
        const rest = (current: MeshCall): Observable<T> =>
          new Observable<T>((inner) => {
            const hooks = plugins.attempts.length > 0 ? new AttemptPlugins(plugins.attempts, current, site, response?.metadata) : undefined;
            const extras = hooks ? hooks.extras() : plan.extras;
            const sent = obs ? countSent(method, current.request, obs) : current.request;
            const own = runLimited<T>(policy.limiter, { ...plan, metadata: current.metadata, extras }, sent, inner);
            run = own;
            progress.run = own;
            return () => own.stop();
          });
        const source = plugins.interceptors.length > 0 ? intercepted(plugins.interceptors, call, site, rest) : rest(call);
        subscriber.add(source.subscribe(out));
      };
      if (!policy.metadata.isDynamic) start(undefined);
      else startDynamic(policy, security, method, start, fail);
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

/** The caller's request, counting its messages as they are sent. */
function countSent(method: MethodInfo, request: unknown, obs: CallObservation): unknown {
  if (method.kind !== 'client-stream' && method.kind !== 'bidi') {
    obs.sent();
    return request;
  }
  return request !== null && typeof request === 'object' && 'pipe' in request ? (request as Observable<unknown>).pipe(tap(() => obs.sent())) : request;
}

/** Passes a call's events to its subscriber, telling its telemetry first. */
class ObservedCall<T> implements Observer<T> {
  constructor(
    private readonly subscriber: Subscriber<T>,
    private readonly obs: CallObservation,
  ) {}

  next(value: T): void {
    this.obs.received();
    this.subscriber.next(value);
  }

  error(error: unknown): void {
    this.obs.end(error);
    this.subscriber.error(error);
  }

  complete(): void {
    this.obs.end();
    this.subscriber.complete();
  }
}

function startDynamic(
  policy: PipelinePolicy,
  security: MeshSecurityContext | undefined,
  method: MethodInfo,
  start: (d: Record<string, string>) => void,
  fail: (error: MeshClientError) => void,
): void {
  const failWith = (error: unknown): void => {
    const reason = describeThrown(error);
    fail(localError(method.site, Status.INTERNAL, `the client's metadata function failed: ${reason}`, { category: 'internal', cause: error }));
  };
  try {
    const entries = policy.metadata.dynamicEntries(security) ?? {};
    if (!(entries instanceof Promise)) return start(entries);
    entries.then(start, failWith);
  } catch (error) {
    failWith(error);
  }
}
