import type { Client, Metadata } from '@grpc/grpc-js';
import { status as Status } from '@grpc/grpc-js';
import { Observable, type Subscriber } from 'rxjs';
import { localError } from '../errors/to-mesh-error.js';
import type { ResolvedClientOptions } from '../module/resolved-options.interface.js';
import { deadlineOptionsProblem, resolveDeadline } from '../resilience/deadline.js';
import { InvalidMetadataError } from '../security/metadata.js';
import { attempt$ } from './attempts.js';
import { CallMetadata } from './call-metadata.js';
import type { CallOptions } from './call-options.interface.js';
import type { MethodInfo } from './method-table.js';

/** Aborts one in-flight call with a reason (used when the client closes). */
export type CallAbort = (reason: string) => void;

/** What the pipeline reads per call; replaced as a whole by `update()`. */
export interface PipelinePolicy {
  readonly options: ResolvedClientOptions;
  readonly metadata: CallMetadata;
}

/** Builds a pipeline policy from resolved options. */
export function pipelinePolicy(options: ResolvedClientOptions): PipelinePolicy {
  return { options, metadata: new CallMetadata(options.metadata) };
}

/**
 * THE place where a call is put together, in this order:
 * closed-check, per-call option checks, deadline, metadata, then the attempt on the wire.
 * Every later per-call operator (retry, breaker, metrics, tracing) is composed here and nowhere else.
 */
export class CallPipeline {
  private readonly inflight = new Set<CallAbort>();
  private closedReason: string | undefined;

  constructor(
    private readonly channel: Client,
    private readonly policy: () => PipelinePolicy,
    private readonly now: () => number = Date.now,
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
      const problem = deadlineOptionsProblem(options?.timeoutMs, options?.deadline);
      if (problem) {
        subscriber.error(localError(site, Status.INVALID_ARGUMENT, problem));
        return;
      }
      const signal = options?.signal;
      if (signal?.aborted) {
        subscriber.error(localError(site, Status.CANCELLED, "aborted by the caller's AbortSignal before it started"));
        return;
      }
      const policy = this.policy();
      const abort: CallAbort = (reason) => subscriber.error(localError(site, Status.CANCELLED, reason, { attempts: 1 }));
      this.inflight.add(abort);
      subscriber.add(() => this.inflight.delete(abort));
      if (signal) {
        const onAbort = (): void => abort("aborted by the caller's AbortSignal");
        signal.addEventListener('abort', onAbort, { once: true });
        subscriber.add(() => signal.removeEventListener('abort', onAbort));
      }
      const deadline = resolveDeadline(this.now(), {
        callTimeoutMs: options?.timeoutMs,
        callDeadline: options?.deadline,
        methodTimeoutMs: policy.options.methods[method.name]?.timeoutMs,
        clientTimeoutMs: policy.options.timeoutMs,
      });
      const start = (dynamic: Record<string, string> | undefined): void => {
        let metadata: Metadata;
        try {
          metadata = policy.metadata.build(dynamic, options?.metadata);
        } catch (error) {
          if (!(error instanceof InvalidMetadataError)) throw error;
          subscriber.error(localError(site, Status.INVALID_ARGUMENT, error.message));
          return;
        }
        // Subscribing with the subscriber itself chains the attempt's teardown (cancel) onto it.
        attempt$<T>({ channel: this.channel, method, request, metadata, deadline, attempt: 1 }).subscribe(subscriber);
      };
      if (!policy.metadata.isDynamic) start(undefined);
      else this.startDynamic(policy, subscriber, method, start);
    });
  }

  private startDynamic<T>(policy: PipelinePolicy, subscriber: Subscriber<T>, method: MethodInfo, start: (d: Record<string, string>) => void): void {
    const fail = (error: unknown): void => {
      const reason = error instanceof Error ? error.message : String(error);
      subscriber.error(localError(method.site, Status.INTERNAL, `the client's metadata function failed: ${reason}`, { category: 'internal', cause: error }));
    };
    try {
      const entries = policy.metadata.dynamicEntries(undefined) ?? {};
      if (!(entries instanceof Promise)) return start(entries);
      entries.then((e) => subscriber.closed || start(e), fail);
    } catch (error) {
      fail(error);
    }
  }
}
