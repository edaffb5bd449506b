import { status as Status } from '@grpc/grpc-js';
import type { Observer } from 'rxjs';
import { localError } from '../errors/to-mesh-error.js';
import { withoutStackTrace } from '../errors/without-stack-trace.js';
import type { ConcurrencyLimiter, LimitedReason, Permit } from '../resilience/concurrency-limiter.js';
import { runCall, type CallPlan, type CallRun } from './call-engine.js';

const REASONS: Record<LimitedReason, string> = {
  queue_full: 'the concurrency limit is reached and its queue is full',
  queue_timeout: 'no concurrency permit became free in time',
};

/** Gives the permit back when the call ends, with its latency when it succeeded (a sample). */
class Releasing<T> implements Observer<T> {
  private readonly startedAt = performance.now();

  constructor(
    private readonly out: Observer<T>,
    private readonly permit: Permit,
    private readonly samples: boolean,
  ) {}

  next(value: T): void {
    this.out.next(value);
  }

  error(error: unknown): void {
    this.permit.release();
    this.out.error(error);
  }

  complete(): void {
    this.permit.release(this.samples ? performance.now() - this.startedAt : undefined);
    this.out.complete();
  }
}

/**
 * Runs the call once the client's concurrency limit gives it a permit (at once when one is free),
 * or fails it at once with 'resource-exhausted' (nothing sent, never retried, never counted by the
 * breaker). The permit is the call's: its retries keep it; it is given back when the call ends.
 * Only single-response calls feed an adaptive limit (a stream's duration is no latency).
 */
export function runLimited<T>(limiter: ConcurrencyLimiter | undefined, plan: CallPlan, request: unknown, out: Observer<T>): CallRun {
  if (!limiter) return runCall(plan, request, out) ?? ENDED;
  let run: CallRun | undefined;
  let permit: Permit | undefined;
  let stopped = false;
  const samples = plan.method.kind === 'unary' || plan.method.kind === 'client-stream';
  const withdraw = limiter.acquire(
    (granted) => {
      permit = granted;
      if (stopped) return granted.release();
      run = runCall(plan, request, new Releasing(out, granted, samples));
    },
    (reason) => {
      const details = `${REASONS[reason]} (concurrency.limit ${String(limiter.limit)}); nothing was sent`;
      // a refusal is the fast path of an overload: its stack would only show RxJS and this library
      out.error(withoutStackTrace(() => localError(plan.method.site, Status.RESOURCE_EXHAUSTED, details, { local: true })));
    },
    plan.settings.deadline - plan.deps.now(),
  );
  return {
    get attempts() {
      return run?.attempts ?? 0;
    },
    stop() {
      stopped = true;
      withdraw();
      run?.stop();
      permit?.release();
    },
  };
}

const ENDED: CallRun = { attempts: 0, stop: () => undefined };
