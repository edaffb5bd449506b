import { status as Status, type Metadata } from '@grpc/grpc-js';
import type { Unsubscribable } from 'rxjs';
import type { MeshSecurityContext } from '../../config/security-context.interface.js';
import { describeThrown, withoutSecret, type Secrets } from '../../errors/describe-thrown.js';
import { notedMetadata, notedSecrets } from '../../errors/call-secrets.js';
import type { MeshCall } from '../../config/mesh-plugin.interface.js';
import { isMeshClientError, type MeshClientError } from '../../errors/mesh-client.error.js';
import { callerError, localError } from '../../errors/to-mesh-error.js';
import type { CallObservation } from '../../observability/call-telemetry.js';
import type { CallSink } from '../../resilience/attempt-loop.js';
import type { CallContext } from '../../security/call-context.interface.js';
import type { CallOptions } from '../../config/call-options.interface.js';
import type { CallSettings } from './call-settings.js';
import type { FlowControl } from './flow-control.js';
import type { MethodInfo } from '../../proto/method-table.js';
import type { ClientPolicy } from '../client-policy.js';
import type { MethodPlugins } from '../plugin-engine/plugin-set.js';
import type { CallCore, CallObserver } from './call-core.js';
import type { CallRun } from './call-run.js';
import type { CallRequests } from './call-requests.js';
import type { Due } from './deadline-queue.js';
import { ResponseMetadata } from './response-metadata.js';
import { credentialValues } from '../../security/metadata.js';
import { callScope, tokenNow } from './call-scope.js';
import { DEADLINE_GRACE_MS, WHERE, type CallPhase } from './call-phase.js';
import type { WireAttempt } from './wire-attempt.js';

/** No single response is held (a response may itself be undefined). */
const NOTHING_HELD = Symbol('nothing held');

/**
 * One call: made once per subscription, with a fixed shape, and the one place that keeps the
 * guarantees. It settles exactly once (a value then completion, or a MeshClientError); its deadline
 * is armed before any work that may wait and ends it, as 'timeout', wherever it is (the metadata
 * function, a plugin, the queue, a hook, the wire, a backoff); whatever ends it stops its runs,
 * which give back their permits and breaker admissions and run their `after` hooks. The stages
 * (call-stages.ts) fill it in order.
 */
export class CallRecord<T> implements CallSink<T>, Due {
  /** The caller's async context, taken at subscription: what reaches the call from outside runs in it. */
  readonly scope = callScope();
  policy!: ClientPolicy;
  context: CallContext | undefined;
  settings!: CallSettings;
  /** Epoch ms. */
  deadline = 0;
  metadata: Metadata | undefined;
  telemetry: CallObservation | undefined;
  plugins: MethodPlugins | undefined;
  /** The call as plugins see it (TokenPlugin notes its token on it). */
  call: MeshCall | undefined;
  /** The call's request streams (client and bidi streaming), let go of when the call ends. */
  requests: CallRequests | undefined;
  phase: CallPhase = 'starting';
  /** The wire (numbered within the call) whose response or outcome the caller gets (its headers and trailers are the call's). */
  answered = 0;
  /** Attempts of runs that ended (the runs in flight add theirs). */
  private pastAttempts = 0;
  private readonly runs: CallRun<T>[] = [];
  private settled = false;
  /** The deadline queue's (call-core.ts): when the call is due, its neighbours there. */
  due = 0;
  earlier: Due | undefined;
  later: Due | undefined;
  queued = false;
  private chain: Unsubscribable | undefined;
  /** Wires kept for their response metadata so far. */
  private wires = 0;
  /** The caller's onHeader / onTrailer, when it gave them. */
  private responses: ResponseMetadata | undefined;
  private onAbort: (() => void) | undefined;
  /** The deadline's error, once it passed. */
  private expired: MeshClientError | undefined;
  /** The time the deadline gave the call when it was armed. */
  private timeoutMs = 0;
  /** The one response of a single-response call, held until the call's outcome is known. */
  private single: T | typeof NOTHING_HELD = NOTHING_HELD;

  constructor(
    readonly core: CallCore,
    readonly method: MethodInfo,
    readonly request: unknown,
    /** The caller's options; replaced by the settings stage with a checked copy. */
    public options: CallOptions | undefined,
    readonly flow: FlowControl | undefined,
    private readonly subscriber: CallObserver<T>,
  ) {}

  /** The caller's security context, when the call is made while handling a request. */
  get security(): MeshSecurityContext | undefined {
    return this.context?.security;
  }

  /** Secrets user code this call runs may quote (masked in its failures): its tokens (the context's then and now, TokenPlugin's, on `call` too) and metadata credentials. */
  secretsOf(call?: MeshCall): Secrets {
    const metadata = [this.metadata, ...(notedMetadata(this.call, call) as Metadata[])].flatMap(credentialValues);
    return [this.security?.token, tokenNow(this.core.deps.context), ...metadata, ...notedSecrets(this.call, call)];
  }

  /** Attempts started so far, over every run. */
  get attempts(): number {
    let n = this.pastAttempts;
    for (const run of this.runs) n += run.attempts;
    return n;
  }

  /** True once the caller has its outcome (or left). */
  get done(): boolean {
    return this.settled;
  }

  /**
   * Why nothing more may start for this call: it settled, or its deadline passed (by the clock,
   * also before its timer ran); undefined while it runs.
   */
  get over(): MeshClientError | undefined {
    if (this.expired) return this.expired;
    if (this.settled) return localError(this.method.site, Status.CANCELLED, 'the call is over', { attempts: this.attempts, local: true });
    if (this.core.now() < this.deadline) return undefined;
    return localError(this.method.site, Status.DEADLINE_EXCEEDED, `the deadline (${String(Math.round(this.timeoutMs))} ms) passed`, {
      attempts: this.attempts,
      local: true,
    });
  }

  /** Arms the deadline: from now on the call ends by it, wherever it waits. */
  arm(): void {
    this.timeoutMs = Math.max(0, this.deadline - this.core.now());
    this.core.track(this, this.timeoutMs);
    const signal = this.options?.signal;
    if (!signal) return;
    const onAbort = (): void => this.scope.runInAsyncScope(this.abort, this, "aborted by the caller's AbortSignal");
    this.onAbort = onAbort;
    try {
      signal.addEventListener('abort', onAbort, { once: true });
    } catch (error) {
      this.onAbort = undefined;
      this.fail(callerError(this.method.site, `CallOptions.signal could not be listened to: ${describeThrown(error)}`, { cause: error }));
    }
  }

  /** A run of the attempts began (the call's only one, or one per `next.handle()` of an intercepting plugin). */
  addRun(run: CallRun<T>): void {
    this.runs.push(run);
  }

  /** A run ended: its attempts stay counted. */
  removeRun(run: CallRun<T>): void {
    const i = this.runs.indexOf(run);
    if (i < 0) return;
    this.runs.splice(i, 1);
    this.pastAttempts += run.attempts;
  }

  /** The intercept chain's subscription, cancelled when the call ends. */
  holdChain(chain: Unsubscribable): void {
    this.chain = chain;
    if (this.settled) this.leaveChain();
  }

  /**
   * Keeps an attempt's wire for its response headers and trailers (only when the caller asked for
   * them); returns its number within the call (0 when not kept).
   */
  noteWire(wire: WireAttempt<unknown>): number {
    const options = this.options;
    if (!options?.onHeader && !options?.onTrailer) return 0;
    const id = ++this.wires;
    (this.responses ??= new ResponseMetadata(options, this.method.site, this.core.deps.logger)).note(id, wire);
    return id;
  }

  value(value: T, attempt: number): void {
    if (this.settled) return;
    if (attempt > 0) this.answered = attempt;
    // one response: it goes out with the outcome, so a caller that leaves on it (firstValueFrom) is no cancellation
    if (this.method.kind === 'unary' || this.method.kind === 'client-stream') {
      this.single = value;
      return;
    }
    const problem = this.responses?.beforeValue(this.answered);
    if (problem) return this.settle(problem);
    this.telemetry?.received();
    this.subscriber.next(value);
  }

  end(error: unknown, attempt: number): void {
    if (this.settled) return;
    if (attempt > 0) this.answered = attempt;
    if (error === undefined && this.single === NOTHING_HELD && (this.method.kind === 'unary' || this.method.kind === 'client-stream')) {
      // only a plugin's intercept can end a single-response call so (a wire attempt fails on it)
      const details = "the call ended without a response: a plugin's intercept completed it without handing one on";
      return this.settle(localError(this.method.site, Status.INTERNAL, details, { attempts: this.attempts, local: true }));
    }
    this.settle(error === undefined ? undefined : this.meshError(error));
  }

  /** Fails the call (a stage's refusal, a run's failure). */
  fail(error: MeshClientError): void {
    this.settle(error);
  }

  /** Ends the call now as 'cancelled' (the client shuts down, the caller's AbortSignal). */
  abort(reason: string): void {
    if (this.settled) return;
    const error = localError(this.method.site, Status.CANCELLED, reason, { attempts: this.attempts });
    for (const run of [...this.runs]) run.stop(error);
    this.settle(error);
  }

  /** The deadline passed (the client's one timer): every run stops with 'timeout', settling the call; told again after a plugin's grace. */
  expire(): void {
    this.scope.runInAsyncScope(this.expireNow, this);
  }

  private expireNow(): void {
    if (this.settled) return;
    if (this.expired) return this.settle(this.expired);
    const details = `the deadline (${String(Math.round(this.timeoutMs))} ms) passed ${WHERE[this.phase]}`;
    const error = localError(this.method.site, Status.DEADLINE_EXCEEDED, details, { attempts: this.attempts });
    this.expired = error;
    const runs = [...this.runs];
    for (const run of runs) run.expire(error);
    if (this.settled) return;
    // an intercepting plugin has the error: give it a moment to hand it (or a fallback) on
    if (runs.length > 0 && this.chain) this.core.track(this, DEADLINE_GRACE_MS);
    else this.settle(error);
  }

  /** RxJS teardown: the subscriber left (maybe in another request: `takeUntil`, a `share()`), or the call settled. */
  unsubscribe(): void {
    if (!this.settled) this.scope.runInAsyncScope(this.leave, this);
  }

  private leave(): void {
    if (this.settled) return;
    this.settled = true;
    this.release();
    const error = localError(this.method.site, Status.CANCELLED, 'the caller unsubscribed', { attempts: this.attempts });
    for (const run of [...this.runs]) run.stop(error);
    this.leaveChain();
    this.telemetry?.cancel();
  }

  private settle(error: MeshClientError | undefined): void {
    if (this.settled) return;
    this.settled = true;
    this.release();
    if (this.runs.length > 0) {
      const stop = localError(this.method.site, Status.CANCELLED, 'the call ended', { attempts: this.attempts, local: true });
      for (const run of [...this.runs]) run.stop(stop);
    }
    this.leaveChain();
    const final = this.responses ? this.responses.atEnd(error, this.answered) : error;
    const single = this.single;
    this.single = NOTHING_HELD;
    try {
      if (single !== NOTHING_HELD && final === undefined) this.telemetry?.received();
      this.telemetry?.end(final);
    } catch (error) {
      // a tracer of the app's, or an error whose fields throw when read: the caller still gets its outcome
      this.core.deps.logger?.warn(`client '${this.method.site.client}': the call's metrics or tracing failed: ${describeThrown(error)}`);
    }
    if (final !== undefined) return this.subscriber.error(final);
    if (single !== NOTHING_HELD) this.subscriber.next(single);
    this.subscriber.complete();
  }

  private release(): void {
    this.core.untrack(this);
    this.requests?.close();
    const onAbort = this.onAbort;
    this.onAbort = undefined;
    if (!onAbort) return;
    try {
      this.options!.signal!.removeEventListener('abort', onAbort);
    } catch {
      // the caller's signal failed to let go of the listener: it is the caller's object, the call is over either way
    }
  }

  /** Leaves the intercept chain; a plugin's teardown that throws is the plugin's (the call is over). */
  private leaveChain(): void {
    const chain = this.chain;
    this.chain = undefined;
    try {
      chain?.unsubscribe();
    } catch (error) {
      const reason = withoutSecret(describeThrown(error), this.secretsOf());
      this.core.deps.logger?.warn(`client '${this.method.site.client}': a plugin failed while its call ended: ${reason}`);
    }
  }

  /** Whatever ended a run, as the caller gets it. */
  private meshError(error: unknown): MeshClientError {
    if (isMeshClientError(error)) return error;
    const details = `the call failed inside the client: ${describeThrown(error)}`;
    return localError(this.method.site, Status.INTERNAL, details, { attempts: this.attempts, cause: error, local: true });
  }
}
