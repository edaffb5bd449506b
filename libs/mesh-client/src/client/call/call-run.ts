import { status as Status, type Metadata } from '@grpc/grpc-js';
import type { MeshCall } from '../../config/mesh-plugin.interface.js';
import type { MeshClientError } from '../../errors/mesh-client.error.js';
import { localError } from '../../errors/to-mesh-error.js';
import { metadataBytes } from '../../security/metadata.js';
import { withoutStackTrace } from '../../errors/without-stack-trace.js';
import type { AttemptSink, RunningAttempt } from '../../resilience/attempt-gate.js';
import type { AttemptLoop, CallSink, LoopCall } from '../../resilience/attempt-loop.js';
import type { RetryEvent } from '../../resilience/retry-decision.js';
import type { LimitedReason, Permit, PermitWaiter, QueueTicket } from '../../resilience/concurrency-limiter.js';
import type { HedgingLoop } from '../../resilience/hedging-loop.js';
import type { RequestSource } from './request-source.js';
import type { AttemptPlugins } from '../plugin-engine/attempt-plugins.js';
import type { CallRecord } from './call-record.js';
import { RUN_STAGES } from './call-stages.js';
import { WireAttempt, type HedgedCopies, type WireSpec } from './wire-attempt.js';
import type { Spread, Spreads } from '../channels/spreads.js';

/** Metadata key that tells the server how many attempts came before this one (gRFC A6). */
export const PREVIOUS_ATTEMPTS_KEY = 'grpc-previous-rpc-attempts';

const NOT_STARTED: RunningAttempt = { cancel: () => undefined };

const REFUSED: Record<LimitedReason, string> = {
  queue_full: 'the concurrency limit is reached and its queue is full',
  queue_timeout: 'no concurrency permit became free in time (concurrency.queueTimeoutMs)',
};

/**
 * One run of a call's attempts for one request: encoded, admitted by the concurrency limit, then
 * run by the retry or hedging loop, each attempt on the wire. A call has one run, or one per
 * `next.handle()` of an intercepting plugin. It owns what it holds (a permit, a place in the
 * queue, the replayable requests, its attempts) and gives all of it back however it ends.
 */
export class CallRun<T> implements PermitWaiter, CallSink<T>, LoopCall<T>, HedgedCopies {
  encoded: Buffer | undefined;
  requests: RequestSource | undefined;
  loop: AttemptLoop<T> | HedgingLoop<T> | undefined;
  hooks: AttemptPlugins | undefined;
  spec: WireSpec | undefined;
  permit: Permit | undefined;
  ticket: QueueTicket | undefined;
  private stage = 0;
  private ended = false;

  /** The call-wide number of each attempt's wire (its response metadata), by the run's attempt number. */
  private wireIds: number[] | undefined;
  /** Metadata a `before` hook prepared, by attempt (hedged copies run side by side). */
  private prepared: (Metadata | undefined)[] | undefined;
  /** A hedged call's copies, for each to go to another endpoint. */
  private spread: Spread | undefined;

  /** The run ended (its sink has its end) or was stopped. */
  get over(): boolean {
    return this.ended;
  }

  constructor(
    readonly record: CallRecord<T>,
    /** The call as plugins see it (undefined when no plugin applies to the method). */
    readonly call: MeshCall | undefined,
    readonly request: unknown,
    readonly metadata: Metadata,
    private readonly sink: CallSink<T>,
  ) {}

  /** Attempts started by this run. */
  get attempts(): number {
    return this.loop?.attempts ?? 0;
  }

  /** Runs the stages from the next one on, while each goes on at once. */
  proceed(): void {
    while (!this.ended && this.stage < RUN_STAGES.length) {
      const stage = RUN_STAGES[this.stage++]!;
      if (!stage(this)) return;
    }
  }

  /** A permit, maybe given back by another call (in its context): the run goes on in its own call's scope. */
  granted(permit: Permit): void {
    this.record.scope.runInAsyncScope(this.admitted, this, permit);
  }

  private admitted(permit: Permit): void {
    this.ticket = undefined;
    if (this.ended) return permit.release();
    // shutdown is cancelling the calls left (one of them gave this permit back): this one starts nothing
    const cancelled = this.record.core.cancelledReason;
    if (cancelled !== undefined) {
      permit.release();
      return this.record.abort(cancelled);
    }
    this.permit = permit;
    this.record.phase = 'attempts';
    this.guarded(() => this.proceed());
  }

  refused(reason: LimitedReason): void {
    this.record.scope.runInAsyncScope(this.turnedAway, this, reason);
  }

  private turnedAway(reason: LimitedReason): void {
    this.ticket = undefined;
    const limit = this.record.policy.limiter?.limit ?? 0;
    const details = `${REFUSED[reason]} (concurrency.limit ${String(limit)}); nothing was sent`;
    // a refusal is the fast path of an overload: its stack would only show this library
    this.end(
      withoutStackTrace(() => localError(this.record.method.site, Status.RESOURCE_EXHAUSTED, details, { local: true })),
      0,
    );
  }

  /** The call's deadline, epoch ms. */
  get deadline(): number {
    return this.record.deadline;
  }

  /** Starts attempt `n` on the wire (the loops' runner). */
  attempt(n: number, sink: AttemptSink<T>): RunningAttempt {
    // nothing goes on the wire past the deadline (grpc-js would fail it on the next tick, and the
    // breaker would count the server for it)
    const over = this.record.over;
    if (over) {
      sink.end(over);
      return NOT_STARTED;
    }
    const metadata = this.metadataOf(n);
    // plugins (intercept, beforeAttempt) may have added to what the call's own check measured
    const oversize = this.record.plugins && this.oversize(metadata, n);
    if (oversize) {
      sink.end(oversize);
      return NOT_STARTED;
    }
    const spec = this.spec!;
    const hooks = this.hooks;
    const wire = new WireAttempt<T>(spec, n, sink, hooks?.readsHeaders ? hooks : undefined, this.record.scope);
    // attempts are numbered per run; the call's response metadata needs them unique over its runs
    (this.wireIds ??= [])[n] = this.record.noteWire(wire as WireAttempt<unknown>);
    hooks?.attach(n, wire, metadata);
    wire.start(metadata, this.requests ? this.requests.open() : this.encoded!, this.attemptDeadline(), spec.spreadCopies ? this : undefined);
    return wire;
  }

  /** The failure of attempt `n` when its metadata, as the plugins left it, is over `maxMetadataBytes`. */
  private oversize(metadata: Metadata, n: number): MeshClientError | undefined {
    const limit = this.record.policy.options.maxMetadataBytes;
    const bytes = metadataBytes(metadata);
    if (bytes <= limit) return undefined;
    const details = `metadata of ${String(bytes)} bytes is over the limit of ${String(limit)} (maxMetadataBytes) once the plugins' hooks (intercept, beforeAttempt) had run; attempt ${String(n)} was not sent`;
    return localError(this.record.method.site, Status.INTERNAL, details, { category: 'internal', retryable: false, attempts: n - 1, local: true });
  }

  spreadOn(spreads: Spreads): string {
    return (this.spread ??= spreads.spread()).token;
  }

  requestsCommitted(): boolean {
    return this.requests !== undefined && !this.requests.replayable;
  }

  /** The call committed (its first response): its request stream no longer keeps what it sent. */
  committed(): void {
    this.requests?.release();
    this.record.requests?.replay?.release();
  }

  retried(event: RetryEvent): void {
    this.record.telemetry?.onRetry(event);
  }

  hedged(): void {
    this.record.telemetry?.hedged();
  }

  /**
   * The metadata of attempt `n`: the copy its hooks prepared (they read it), else the call's own
   * for a first attempt, else a copy naming the attempts before it.
   */
  metadataOf(n: number): Metadata {
    const prepared = this.prepared?.[n];
    if (prepared) {
      this.prepared![n] = undefined;
      return prepared;
    }
    return n === 1 ? this.metadata : this.copyFor(n);
  }

  /** The metadata of attempt `n`, a copy made now for its hooks to change and kept for its start. */
  prepareMetadata(n: number): Metadata {
    const metadata = this.copyFor(n);
    (this.prepared ??= [])[n] = metadata;
    return metadata;
  }

  private copyFor(n: number): Metadata {
    const metadata = this.metadata.clone();
    if (n > 1) metadata.set(PREVIOUS_ATTEMPTS_KEY, String(n - 1));
    return metadata;
  }

  value(value: T, attempt: number): void {
    if (!this.ended) this.sink.value(value, this.wireIds?.[attempt] ?? 0);
  }

  end(error: unknown, attempt: number): void {
    if (this.ended) return;
    this.finish();
    this.sink.end(error, this.wireIds?.[attempt] ?? 0);
  }

  /** The call is over from outside: its attempts are stopped (their `after` hooks see `error`). */
  stop(error: unknown): void {
    if (this.ended) return;
    this.loop?.stop(error);
    this.finish();
  }

  /** The deadline passed: attempts on the wire count as timed out; the run ends with `error`. */
  expire(error: unknown): void {
    if (this.ended) return;
    this.loop?.stop(error, true);
    this.end(error, 0);
  }

  /** Runs `work`; anything it throws fails the run instead of reaching its caller (grpc-js, the limiter, a timer). */
  guarded(work: () => void): void {
    try {
      work();
    } catch (error) {
      this.end(error, 0);
    }
  }

  private attemptDeadline(): number {
    const perAttemptMs = this.record.settings.retry ? this.record.settings.retry.perAttemptTimeoutMs : undefined;
    const deadline = this.record.deadline;
    return perAttemptMs === undefined ? deadline : Math.min(deadline, this.record.core.now() + perAttemptMs);
  }

  private finish(): void {
    this.ended = true;
    this.ticket?.withdraw();
    this.ticket = undefined;
    this.permit?.release();
    this.permit = undefined;
    this.spread?.close();
    this.record.removeRun(this);
  }
}
