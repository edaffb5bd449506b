import { Observable } from 'rxjs';
import type { CallTelemetry } from '../../observability/call-telemetry.js';
import type { CallOptions } from '../../config/call-options.interface.js';
import type { ChannelPool } from '../channels/channel-pool.js';
import type { ClientDeps, ClientPolicy } from '../client-policy.js';
import type { FlowControl } from './flow-control.js';
import type { MethodInfo } from '../../proto/method-table.js';
import { CallRecord } from './call-record.js';
import { runCall } from './call-stages.js';
import { DeadlineQueue } from './deadline-queue.js';
import { describeThrown, withoutSecret } from '../../errors/describe-thrown.js';

/** Who hears a call's outcome: the API edge's RxJS subscriber, or the Promise of `request()`. */
export interface CallObserver<T> {
  next(value: T): void;
  error(error: unknown): void;
  complete(): void;
}

/**
 * The calls of one client: what every call record reads (channels, policy, dependencies,
 * telemetry) and the calls in flight, for a graceful shutdown.
 */
export class CallCore {
  readonly now: () => number;
  /** The calls in flight, by deadline: one timer for all of them. */
  private readonly inflight: DeadlineQueue;
  private closing: string | undefined;
  /** Set once shutdown cancels what is left: why (a queued call given a permit then ends with it). */
  private cancelling: string | undefined;
  private onIdle: (() => void) | undefined;

  constructor(
    readonly channels: ChannelPool,
    private readonly policyOf: () => ClientPolicy,
    readonly deps: ClientDeps,
    readonly telemetry: CallTelemetry | undefined,
  ) {
    this.now = deps.now;
    this.inflight = new DeadlineQueue(
      () => this.onIdle?.(),
      (error) => deps.logger?.warn(`a call's deadline failed to end it: ${describeThrown(error)}`),
    );
  }

  /** The policy new calls run with (replaced whole by `update()`). */
  policy(): ClientPolicy {
    return this.policyOf();
  }

  /** Why new calls are refused, once the client is closing. */
  get closedReason(): string | undefined {
    return this.closing;
  }

  /** Why the calls still in flight are being cancelled, once shutdown's drain is over. */
  get cancelledReason(): string | undefined {
    return this.cancelling;
  }

  /** Calls in flight right now. */
  get inflightCount(): number {
    return this.inflight.size;
  }

  /**
   * A cold Observable of one call of `method`: each subscription is one call record, run through
   * the stages (call-stages.ts); unsubscribing cancels it.
   */
  call<T>(method: MethodInfo, request: unknown, options: CallOptions | undefined, flow?: FlowControl): Observable<T> {
    return new Observable<T>((subscriber) => {
      const record = new CallRecord<T>(this, method, request, options, flow, subscriber);
      runCall(record as CallRecord<unknown>);
      return record;
    });
  }

  /**
   * One call of a single-response `method` as a Promise: the same record and stages as `call()`,
   * with no Observable and no subscriber made (cancel it with `options.signal`).
   */
  request<T>(method: MethodInfo, request: unknown, options: CallOptions | undefined): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      runCall(new CallRecord<T>(this, method, request, options, undefined, new PromiseObserver(resolve, reject)) as CallRecord<unknown>);
    });
  }

  /** @internal a call armed its deadline, `ms` from now: it is in flight until it settles, and expires then. */
  track(record: CallRecord<unknown>, ms: number): void {
    this.inflight.add(record, ms);
  }

  /** @internal a call settled. */
  untrack(record: CallRecord<unknown>): void {
    this.inflight.remove(record);
  }

  /**
   * Refuses new calls from now on, waits up to `drainMs` for the calls in flight to end, then
   * cancels whatever is left.
   */
  async shutdown(reason: string, drainMs: number): Promise<void> {
    this.closing = reason;
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
    this.cancelling = left;
    for (const entry of this.inflight.entries()) {
      const call = entry as CallRecord<unknown>;
      try {
        call.scope.runInAsyncScope(call.abort, call, left);
      } catch (error) {
        // the caller's own code failed while its call was cancelled: the call is over, the others are still cancelled
        this.deps.logger?.warn(`a call failed while it was cancelled at shutdown: ${withoutSecret(describeThrown(error), call.secretsOf())}`);
      }
    }
  }
}

/** The outcome of a single-response call as a Promise. */
class PromiseObserver<T> implements CallObserver<T> {
  private value: T | undefined;

  constructor(
    private readonly resolve: (value: T) => void,
    private readonly reject: (error: unknown) => void,
  ) {}

  next(value: T): void {
    this.value = value;
  }

  error(error: unknown): void {
    this.reject(error);
  }

  complete(): void {
    this.resolve(this.value as T);
  }
}
