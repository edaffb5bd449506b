import { status as Status, type Metadata } from '@grpc/grpc-js';
import type { Observer, Unsubscribable } from 'rxjs';
import type { MeshCall } from '../../config/mesh-plugin.interface.js';
import { causeWithoutSecrets, describeThrown, withoutSecret } from '../../errors/describe-thrown.js';
import { isMeshClientError } from '../../errors/mesh-client.error.js';
import { callerError, localError } from '../../errors/to-mesh-error.js';
import { InvalidMetadataError } from '../../security/metadata.js';
import { inheritedDeadlineProblem, readCallOptions } from '../../options/call-options.js';
import { callDeadline, callSettings } from './call-settings.js';
import { subscribeIntercepted } from '../plugin-engine/intercept-chain.js';
import { MeshCallState } from '../plugin-engine/mesh-call.js';
import { RequestProblem } from '../../proto/request-problem.js';
import { circuitOpen, startLoop } from './call-loop.js';
import type { CallRecord } from './call-record.js';
import { CallRun } from './call-run.js';
import { HandedRun, ToRecord } from './intercept-ends.js';
import { CallRequests } from './call-requests.js';
import { RequestReplay, pushes } from './request-replay.js';
import { RequestSource } from './request-source.js';
import type { CallSink } from '../../resilience/attempt-loop.js';

/** A stage: true to go on at once; false when it failed the call or goes on later by itself. */
type Stage<R> = (subject: R) => boolean;

/**
 * THE order of a call. Every call runs these stages once, from its subscription:
 * 1. closed: a closing client refuses it;
 * 2. settings: per-call options, the handler's policy, the method's and client's, the deadline;
 * 3. deadline: armed now; from here everything (metadata, plugins, queue, hooks, wire, backoff) is bounded by it;
 * 4. telemetry: metrics and tracing begin (outermost: they see the call's final outcome);
 * 5. requests: a request stream is taken (an Observable subscribed: a hot one loses nothing while the call waits);
 * 6. metadata: context, client and call entries (a metadata function may be async), trace context;
 * 7. plugins: the intercept chain; subscribing what its innermost `next.handle()` gives starts a run (or a run at once).
 */
export const CALL_STAGES: readonly Stage<CallRecord<unknown>>[] = [
  refuseWhenClosed,
  settle,
  armDeadline,
  observe,
  takeRequests,
  buildMetadata,
  intercept,
];

/**
 * Then each run of the attempts (one per call, or one per `next.handle()`), in order:
 * 1. encode: the request checked and encoded (nothing is sent when it does not fit its type);
 * 2. admit: an open breaker refuses at once; a concurrency permit, waiting in the queue if need be;
 * 3. attempts: the retry loop or hedging, every attempt through the attempt gate
 *    (breaker -> beforeAttempt -> wire -> outcome -> afterAttempt).
 */
export const RUN_STAGES: readonly Stage<CallRun<unknown>>[] = [encode, admit, attempts];

/** Runs a call's stages from `from` on. Nothing a stage throws escapes: it fails the call. */
export function runCall(record: CallRecord<unknown>, from = 0): void {
  try {
    // a stage that ended the call (a refusal, an AbortSignal that could not be listened to) ends the stages too
    for (let i = from; i < CALL_STAGES.length; i++) if (!CALL_STAGES[i]!(record) || record.done) return;
  } catch (error) {
    record.end(error, 0);
  }
}

function refuseWhenClosed(record: CallRecord<unknown>): boolean {
  const reason = record.core.closedReason;
  if (reason === undefined) return true;
  record.fail(localError(record.method.site, Status.UNAVAILABLE, reason, { category: 'unavailable', retryable: false }));
  return false;
}

function settle(record: CallRecord<unknown>): boolean {
  const { core, method } = record;
  if (record.options !== undefined) {
    const read = readCallOptions(record.options);
    if (typeof read === 'string') {
      record.fail(callerError(method.site, read));
      return false;
    }
    record.options = read;
  }
  const options = record.options;
  record.policy = core.policy();
  record.context = core.deps.context?.();
  const badDeadline = inheritedDeadlineProblem(record.context?.security?.deadline);
  if (badDeadline !== undefined) {
    record.fail(callerError(method.site, badDeadline));
    return false;
  }
  const settings = callSettings(method, options, record.policy, record.context);
  if (isMeshClientError(settings)) {
    record.fail(settings);
    return false;
  }
  record.settings = settings;
  record.deadline = callDeadline(method, options, record.policy, record.context, core.now());
  record.plugins = record.policy.plugins.get(method.name);
  if (!options?.signal?.aborted) return true;
  record.fail(localError(method.site, Status.CANCELLED, "aborted by the caller's AbortSignal before it started"));
  return false;
}

function armDeadline(record: CallRecord<unknown>): boolean {
  record.arm();
  return true;
}

function observe(record: CallRecord<unknown>): boolean {
  record.telemetry = record.core.telemetry?.begin(record.method, record.security?.traceparent);
  return true;
}

/**
 * The call's request stream, taken now: a pushing one loses nothing while the call waits (for its
 * metadata, plugins, a permit). Intercepting plugins see a pushing stream as an Observable that
 * replays it (`RequestReplay`: derived or re-subscribed, the caller's stream is subscribed once);
 * otherwise the stream's source is made now, for every run and attempt to read.
 */
function takeRequests(record: CallRecord<unknown>): boolean {
  const kind = record.method.kind;
  if (kind === 'unary' || kind === 'server-stream') return true;
  const request = record.request;
  const requests = (record.requests = new CallRequests());
  if ((record.plugins?.interceptors.length ?? 0) > 0 && pushes(request)) {
    requests.replay = new RequestReplay(request, record.method.site);
    requests.replay.start();
    return true;
  }
  try {
    requests.sourceOf(request, () => requestSource(record, request));
  } catch (error) {
    if (!(error instanceof RequestProblem)) throw error;
    record.fail(callerError(record.method.site, error.message));
    return false;
  }
  return true;
}

/**
 * A request stream of the call: its messages kept for sending again while anything may send them
 * again (retries, hedging, a plugin that sees attempts end or may re-subscribe `next.handle()`).
 */
function requestSource(record: CallRecord<unknown>, requests: unknown): RequestSource {
  const { settings, plugins, telemetry } = record;
  const again =
    (settings.retry !== false && settings.retry.maxAttempts > 1) ||
    settings.hedging !== undefined ||
    plugins?.seesEnds === true ||
    (plugins?.interceptors.length ?? 0) > 0;
  return new RequestSource(record.method, requests, again, telemetry && (() => telemetry.sent()));
}

/**
 * The call's outgoing metadata. An async metadata function holds the call (up to its deadline);
 * a call that ended meanwhile goes no further. Invalid metadata is the caller's fault
 * ('invalid-request'); a failing metadata function is 'internal'.
 */
function buildMetadata(record: CallRecord<unknown>): boolean {
  const source = record.policy.metadata;
  if (!source.isDynamic) return withMetadata(record, undefined);
  // (the function is given the context: the call's token, quoted in what it throws, is masked)
  const failed = (error: unknown): void => {
    const secrets = record.secretsOf();
    const details = `the client's metadata function failed: ${withoutSecret(describeThrown(error), secrets)}`;
    record.fail(
      localError(record.method.site, Status.INTERNAL, details, { category: 'internal', cause: causeWithoutSecrets(error, secrets), local: true }),
    );
  };
  let entries: ReturnType<typeof source.dynamicEntries>;
  let then: unknown;
  try {
    entries = source.dynamicEntries(record.security);
    // read once (a `then` getter that throws, or answers differently the next time, is the function's)
    then = typeof entries === 'object' && entries !== null ? (entries as { then?: unknown }).then : undefined;
  } catch (error) {
    failed(error);
    return false;
  }
  if (typeof then !== 'function') return withMetadata(record, entries as Record<string, string> | undefined);
  record.phase = 'metadata';
  const next = CALL_STAGES.indexOf(buildMetadata) + 1;
  let settled = false; // a thenable may call back more than once: the first answer counts
  const onEntries = (dynamic: Record<string, string> | undefined): void => {
    if (settled || record.done) return;
    settled = true;
    try {
      if (withMetadata(record, dynamic ?? undefined)) runCall(record, next);
    } catch (error) {
      failed(error);
    }
  };
  const onFailure = (error: unknown): void => {
    if (settled || record.done) return;
    settled = true;
    failed(error);
  };
  try {
    (then as PromiseLike<Record<string, string> | undefined>['then']).call(entries, onEntries, onFailure);
  } catch (error) {
    onFailure(error);
  }
  return false;
}

function withMetadata(record: CallRecord<unknown>, dynamic: Record<string, string> | undefined): boolean {
  let metadata: Metadata;
  try {
    metadata = record.policy.metadata.build(record.security, dynamic, record.options?.metadata);
  } catch (error) {
    if (error instanceof InvalidMetadataError) record.fail(callerError(record.method.site, error.message));
    else record.fail(callerError(record.method.site, `the call's metadata could not be read: ${describeThrown(error)}`, { cause: error }));
    return false;
  }
  if (record.settings.waitForReady) metadata.setOptions({ waitForReady: true });
  record.telemetry?.inject(metadata);
  record.metadata = metadata;
  return true;
}

/** The intercept chain of the method's plugins (a run it hands on starts in the call's scope, wherever subscribed), or the run at once. */
function intercept(record: CallRecord<unknown>): boolean {
  const plugins = record.plugins;
  const request = record.requests?.replay?.view ?? record.request;
  const call = plugins ? new MeshCallState(plugins.info, request, record.metadata!, record.deadline, record.security, record) : undefined;
  record.call = call;
  if (!plugins || plugins.interceptors.length === 0) {
    record.phase = 'attempts';
    startRun(record, call, record.request, record.metadata!, record);
    return false;
  }
  record.phase = 'plugins';
  const inner = (current: MeshCall, subscriber: Observer<unknown>): Unsubscribable =>
    record.scope.runInAsyncScope(handOn, undefined, current, subscriber);
  const handOn = (current: MeshCall, subscriber: Observer<unknown>): Unsubscribable => {
    // a plugin that hands the call on once it is over (past its deadline, settled) gets its end,
    // later (never in the same tick: a re-subscribing retry() would spin the event loop), and
    // nothing is sent: no run, no permit, no attempt for the breaker to count
    const over = record.over;
    if (over) {
      const later = setImmediate(() => subscriber.error(over));
      return { unsubscribe: () => clearImmediate(later) };
    }
    record.phase = 'attempts';
    const handed = new HandedRun(record, subscriber);
    handed.run = startRun(record, current, current.request, current.metadata, handed);
    return handed;
  };
  record.holdChain(subscribeIntercepted(plugins.interceptors, call!, record.method.site, inner, new ToRecord(record), (c) => record.secretsOf(c)));
  return false;
}

function startRun(
  record: CallRecord<unknown>,
  call: MeshCall | undefined,
  request: unknown,
  metadata: Metadata,
  sink: CallSink<unknown>,
): CallRun<unknown> {
  const run = new CallRun(record, call, request, metadata, sink);
  record.addRun(run);
  run.guarded(() => run.proceed());
  return run;
}

function encode(run: CallRun<unknown>): boolean {
  const { method, telemetry } = run.record;
  try {
    if (method.kind === 'unary' || method.kind === 'server-stream') {
      run.encoded = method.encode(run.request);
      telemetry?.sent();
      return true;
    }
    // the call's stream (or what a plugin handed on instead): one source per stream, shared by the runs reading it
    run.requests = run.record.requests!.sourceOf(run.request, () => requestSource(run.record, run.request));
    return true;
  } catch (error) {
    if (!(error instanceof RequestProblem)) throw error;
    run.end(callerError(method.site, error.message), 0);
    return false;
  }
}

function admit(run: CallRun<unknown>): boolean {
  const { policy, method } = run.record;
  const limiter = policy.limiter;
  if (!limiter) return true;
  // an open breaker refuses at once, even when every permit is taken
  if (policy.breakers?.for(method.name).rejects()) {
    run.end(circuitOpen(method.site, 0), 0);
    return false;
  }
  run.record.phase = 'queued';
  run.ticket = limiter.acquire(run, run.record.deadline - run.record.core.now());
  return false;
}

function attempts(run: CallRun<unknown>): boolean {
  run.record.phase = 'attempts';
  startLoop(run);
  return false;
}
