import { status as Status, type Metadata } from '@grpc/grpc-js';
import { Observable, tap, type Observer, type Subscriber } from 'rxjs';
import type { MeshCall } from '../config/mesh-plugin.interface.js';
import type { MeshSecurityContext } from '../config/security-context.interface.js';
import { describeThrown } from '../errors/describe-thrown.js';
import type { MeshClientError } from '../errors/mesh-client.error.js';
import { callerError, localError, type CallSite } from '../errors/to-mesh-error.js';
import type { CallObservation } from '../observability/call-telemetry.js';
import { InvalidMetadataError } from '../security/metadata.js';
import type { AttemptExtras, CallPlan, CallRun } from './call-engine.js';
import type { CallOptions } from './call-options.interface.js';
import { runLimited } from './limited-call.js';
import type { MethodInfo } from './method-table.js';
import type { CallMetadata } from './call-metadata.js';
import { AttemptPlugins } from './plugins/attempt-plugins.js';
import { intercepted } from './plugins/intercept-chain.js';
import { MeshCallState, type CallProgress } from './plugins/mesh-call.js';
import type { MethodPlugins } from './plugins/plugin-set.js';
import { ResponseMetadata } from './response-metadata.js';

/** The per-call steps of CallPipeline, in the order it runs them. Each is small and tested alone. */

/** Where a call's events go: its telemetry first, then `onHeader`/`onTrailer`, then the caller. */
export interface CallOutput<T> {
  readonly out: Observer<T>;
  /** The call's response-metadata listener, when the caller asked for headers or trailers. */
  readonly responseMetadata: ResponseMetadata<T> | undefined;
  readonly extras: AttemptExtras | undefined;
}

/** Step: the observer the attempts report to. */
export function callOutput<T>(
  subscriber: Subscriber<T>,
  obs: CallObservation | undefined,
  options: CallOptions | undefined,
  site: CallSite,
): CallOutput<T> {
  const observed: Observer<T> = obs ? new ObservedCall(subscriber, obs) : subscriber;
  if (!options?.onHeader && !options?.onTrailer) return { out: observed, responseMetadata: undefined, extras: undefined };
  const metadata = new ResponseMetadata(observed, options, site);
  return { out: metadata, responseMetadata: metadata, extras: { listener: (n) => metadata.listener(n) } };
}

/** Step: the caller's AbortSignal aborts the call while it runs (and is let go when it ends). */
export function linkAbortSignal(signal: AbortSignal | undefined, subscriber: Subscriber<unknown>, abort: (reason: string) => void): void {
  if (!signal) return;
  const onAbort = (): void => abort("aborted by the caller's AbortSignal");
  signal.addEventListener('abort', onAbort, { once: true });
  subscriber.add(() => signal.removeEventListener('abort', onAbort));
}

/** What the metadata step is given. */
export interface MetadataInput {
  readonly source: CallMetadata;
  readonly security: MeshSecurityContext | undefined;
  readonly options: CallOptions | undefined;
  readonly method: MethodInfo;
  readonly subscriber: Subscriber<unknown>;
  readonly start: (metadata: Metadata) => void;
  readonly fail: (error: MeshClientError) => void;
}

/**
 * Step: the call's outgoing metadata (context, client's static and dynamic entries, the call's
 * own). An async metadata function delays `start`; a call left meanwhile never starts. Invalid
 * metadata from the caller fails the call as a caller fault; a failing metadata function as INTERNAL.
 */
export function buildMetadata(input: MetadataInput): void {
  const { source, security, method, fail } = input;
  if (!source.isDynamic) return buildThenStart(input, undefined);
  const failWith = (error: unknown): void =>
    fail(
      localError(method.site, Status.INTERNAL, `the client's metadata function failed: ${describeThrown(error)}`, {
        category: 'internal',
        cause: error,
      }),
    );
  try {
    const entries = source.dynamicEntries(security) ?? {};
    if (entries instanceof Promise) entries.then((dynamic) => buildThenStart(input, dynamic), failWith);
    else buildThenStart(input, entries);
  } catch (error) {
    failWith(error);
  }
}

function buildThenStart(
  { source, security, options, method, subscriber, start, fail }: MetadataInput,
  dynamic: Record<string, string> | undefined,
): void {
  if (subscriber.closed) return; // left while an async metadata function ran
  let metadata: Metadata;
  try {
    metadata = source.build(security, dynamic, options?.metadata);
  } catch (error) {
    if (!(error instanceof InvalidMetadataError)) throw error;
    return fail(callerError(method.site, error.message));
  }
  start(metadata);
}

/** What the attempts step reports back: the run of the attempts in progress (for `attempts` counts). */
export interface RunProgress {
  run: CallRun | undefined;
}

/** What the attempts step is given. */
export interface AttemptsInput<T> {
  readonly plan: CallPlan;
  readonly request: unknown;
  readonly output: CallOutput<T>;
  readonly subscriber: Subscriber<T>;
  /** The method's plugins; undefined when none applies to it. */
  readonly plugins: MethodPlugins | undefined;
  readonly security: MeshSecurityContext | undefined;
  readonly obs: CallObservation | undefined;
  /** Told of the run in progress (for the attempt count of an aborted call). */
  readonly progress: RunProgress;
}

/** Step: the attempts, straight (no plugin applies to the method) or through the method's plugins. */
export function runAttempts<T>({ plan, request, output, subscriber, plugins, security, obs, progress }: AttemptsInput<T>): void {
  const { method, policy } = plan;
  const send = (r: unknown): unknown => (obs ? countSent(method, r, obs) : r);
  if (!plugins) {
    const run = runLimited<T>(policy.limiter, plan, send(request), output.out);
    progress.run = run;
    subscriber.add(() => run.stop());
    return;
  }
  const callProgress: CallProgress = { run: undefined };
  const call = new MeshCallState(plugins.info, request, plan.metadata, new Date(plan.settings.deadline), security, callProgress);
  const rest = (current: MeshCall): Observable<T> =>
    new Observable<T>((inner) => {
      const hooks = plugins.attempts.length > 0 ? new AttemptPlugins(plugins, current, method.site, output.responseMetadata) : undefined;
      const run = runLimited<T>(policy.limiter, { ...plan, metadata: current.metadata, extras: hooks ?? plan.extras }, send(current.request), inner);
      progress.run = run;
      callProgress.run = run;
      return () => run.stop();
    });
  const source = plugins.interceptors.length > 0 ? intercepted(plugins.interceptors, call, method.site, rest) : rest(call);
  subscriber.add(source.subscribe(output.out));
}

/** The caller's request, counting its messages as they are sent. */
export function countSent(method: MethodInfo, request: unknown, obs: CallObservation): unknown {
  if (method.kind !== 'client-stream' && method.kind !== 'bidi') {
    obs.sent();
    return request;
  }
  return request !== null && typeof request === 'object' && 'pipe' in request
    ? (request as Observable<unknown>).pipe(tap(() => obs.sent()))
    : request;
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
