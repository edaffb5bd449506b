import { status as Status, type Metadata } from '@grpc/grpc-js';
import { from, isObservable, map, type Observable, type ObservableInput, type Observer } from 'rxjs';
import { callerError, localError } from '../errors/to-mesh-error.js';
import { withoutStackTrace } from '../errors/without-stack-trace.js';
import { AttemptLoop, type AttemptHooks } from '../resilience/attempt-loop.js';
import { HedgingLoop } from '../resilience/hedging-loop.js';
import { ReplayableRequests } from '../resilience/replayable-requests.js';
import type { RetryEvent } from '../resilience/retry-decision.js';
import { attempt$, type AttemptListener } from './attempts.js';
import type { CallSettings } from './call-settings.js';
import type { FlowControl } from './flow-control.js';
import type { ChannelPool } from './channel-pool.js';
import type { MethodInfo } from './method-table.js';
import type { ClientDeps, PipelinePolicy } from './pipeline-policy.js';
import { RequestProblem } from './request-check.js';

/** Metadata key that tells the server how many attempts came before this one (gRFC A6). */
export const PREVIOUS_ATTEMPTS_KEY = 'grpc-previous-rpc-attempts';

/** Per-attempt work of a call beyond the loop's: metadata, hooks, listeners (plugins, onHeader/onTrailer). */
export interface AttemptExtras {
  /** Runs before attempt `n` with its metadata (which it may change). */
  readonly before?: (n: number, metadata: Metadata) => void | PromiseLike<void>;
  readonly after?: AttemptHooks['after'];
  /** Listens to attempt `n`'s headers and status. */
  readonly listener?: (n: number) => AttemptListener | undefined;
  /** The answer of attempt `n` when it is not to be sent (a fault a plugin injected). */
  readonly override?: (n: number) => Observable<never> | undefined;
}

/** One call, ready to run: everything decided before the first attempt. */
export interface CallPlan {
  readonly channels: ChannelPool;
  readonly method: MethodInfo;
  readonly metadata: Metadata;
  readonly settings: CallSettings;
  readonly policy: PipelinePolicy;
  readonly deps: ClientDeps;
  readonly onRetry?: (event: RetryEvent) => void;
  /** Told of every hedged copy sent. */
  readonly onHedge?: () => void;
  readonly extras?: AttemptExtras;
  /** The consumer's flow control of the response stream (iterate()). */
  readonly flow?: FlowControl;
}

/** A running call: what its owner may ask of it. */
export interface CallRun {
  /** Attempts started so far. */
  readonly attempts: number;
  stop(): void;
}

const streamsRequests = (m: MethodInfo): boolean => m.kind === 'client-stream' || m.kind === 'bidi';

function isStreamInput(value: unknown): value is ObservableInput<unknown> {
  if (isObservable(value)) return true;
  if (typeof value !== 'object' || value === null) return false;
  return Symbol.iterator in value || Symbol.asyncIterator in value || typeof (value as PromiseLike<unknown>).then === 'function';
}

/** The encoded request of a call: one message, or the stream of them (encoded as they come). */
function encodeRequest(method: MethodInfo, request: unknown): Buffer | Observable<Buffer> {
  if (!streamsRequests(method)) return method.encode(request);
  if (!isStreamInput(request)) {
    const got = request === null ? 'null' : Array.isArray(request) ? 'an array' : `a ${typeof request}`;
    throw new RequestProblem(
      `'${method.name}' streams its requests: give an Observable (or an array, iterable or AsyncIterable) of messages, got ${got}`,
    );
  }
  return from(request).pipe(map(method.encode));
}

/**
 * Runs one call through the attempt loop: encodes the request once (nothing is sent when it does
 * not fit its message type), keeps request streams replayable while retries or replays may need
 * them, gives every attempt its metadata (`grpc-previous-rpc-attempts` from the second on, wait-
 * for-ready), deadline and listeners. Returns undefined when the call failed before any attempt.
 */
export function runCall<T>(plan: CallPlan, request: unknown, out: Observer<T>): CallRun | undefined {
  const { method, settings, policy, extras } = plan;
  let encoded: Buffer | Observable<Buffer>;
  try {
    encoded = encodeRequest(method, request);
  } catch (error) {
    if (!(error instanceof RequestProblem)) throw error;
    out.error(callerError(method.site, error.message));
    return undefined;
  }
  const retry = settings.retry !== false && settings.retry.maxAttempts > 1 ? settings.retry : undefined;
  const replayable = (retry !== undefined || extras?.after !== undefined) && typeof encoded === 'object' && !Buffer.isBuffer(encoded);
  const requests = replayable ? new ReplayableRequests(encoded as Observable<Buffer>) : undefined;
  if (settings.waitForReady) plan.metadata.setOptions({ waitForReady: true });
  const metadataOf = attemptMetadata(plan);
  const perAttemptMs = retry?.perAttemptTimeoutMs;
  const connectTimeoutMs = settings.waitForReady ? 0 : policy.options.connectTimeoutMs;
  /** Metadata a `before` hook prepared, by attempt (hedged copies run side by side); an array, as a per-call Map allocates again as it shrinks. */
  const prepared: (Metadata | undefined)[] | undefined = extras?.before ? [] : undefined;
  const attempt = (n: number): Observable<T> => {
    const metadata = prepared?.[n] ?? metadataOf(n);
    if (prepared) prepared[n] = undefined;
    return (
      extras?.override?.(n) ??
      attempt$<T>({
        channels: plan.channels,
        method,
        request: requests ? requests.attempt$ : encoded,
        metadata,
        deadline: perAttemptMs === undefined ? settings.deadline : Math.min(settings.deadline, plan.deps.now() + perAttemptMs),
        connectTimeoutMs,
        attempt: n,
        listener: extras?.listener?.(n),
        flow: plan.flow,
      })
    );
  };
  const breaker = policy.breakers?.for(method.name);
  const rejection = (attempts: number): unknown => {
    const details = `circuit breaker of client '${method.site.client}' is open; the call was not sent`;
    // a rejection is the fast path of an outage: its stack would only show RxJS and this loop
    return withoutStackTrace(() => localError(method.site, Status.UNAVAILABLE, details, { category: 'circuit-open', retryable: true, attempts }));
  };
  const hooks = extras?.before || extras?.after ? hooksOf(extras, metadataOf, prepared ?? []) : undefined;
  const { now, random } = plan.deps;
  const loop = settings.hedging
    ? new HedgingLoop<T>(
        {
          attempt,
          hedging: settings.hedging,
          budget: policy.budget,
          breaker,
          rejection,
          deadline: settings.deadline,
          hooks,
          onHedge: plan.onHedge,
          now,
        },
        out,
      )
    : new AttemptLoop<T>(
        {
          attempt,
          retry,
          budget: retry ? policy.budget : undefined,
          breaker,
          rejection,
          deadline: settings.deadline,
          idempotent: settings.idempotent,
          streamsResponses: method.kind === 'server-stream' || method.kind === 'bidi',
          requestsCommitted: requests ? () => !requests.replayable : undefined,
          onCommit: requests ? () => requests.release() : undefined,
          onRetry: plan.onRetry,
          hooks,
          now,
          random,
        },
        out,
      );
  loop.start();
  return new RunningCall(loop, requests);
}

/** A call's run, as its owner sees it (a class: one object, no closures, per call). */
class RunningCall implements CallRun {
  constructor(
    private readonly loop: { readonly attempts: number; stop(): void },
    private readonly requests: ReplayableRequests<Buffer> | undefined,
  ) {}

  get attempts(): number {
    return this.loop.attempts;
  }

  stop(): void {
    this.loop.stop();
    this.requests?.close();
  }
}

/** The metadata of attempt `n`: the call's own for the first, a copy naming the attempts before it after. */
function attemptMetadata(plan: CallPlan): (n: number) => Metadata {
  const hooked = plan.extras?.before !== undefined;
  return (n) => {
    if (n === 1 && !hooked) return plan.metadata;
    const metadata = plan.metadata.clone();
    if (n > 1) metadata.set(PREVIOUS_ATTEMPTS_KEY, String(n - 1));
    return metadata;
  };
}

/** The loop's hooks for a call with per-attempt extras: `before` prepares the attempt's own metadata. */
function hooksOf(extras: AttemptExtras, metadataOf: (n: number) => Metadata, prepared: (Metadata | undefined)[]): AttemptHooks {
  return {
    before: extras.before
      ? (n) => {
          const metadata = metadataOf(n);
          prepared[n] = metadata;
          return extras.before!(n, metadata);
        }
      : undefined,
    after: extras.after,
  };
}
