import { status as Status } from '@grpc/grpc-js';
import type { Observer, Unsubscribable } from 'rxjs';
import { localError } from '../../errors/to-mesh-error.js';
import type { CallSink } from '../../resilience/attempt-loop.js';
import type { CallRecord } from './call-record.js';
import type { CallRun } from './call-run.js';

// The two ends of a call's intercept chain (call-stages.ts): one small object each per call.

/**
 * A run started by a plugin's `next.handle()`: its outcome goes to the plugin's subscriber (or,
 * where every plugin handed the call on as it was, to the chain's end); the plugin leaving stops it.
 */
export class HandedRun implements CallSink<unknown>, Unsubscribable {
  run: CallRun<unknown> | undefined;

  constructor(
    private readonly record: CallRecord<unknown>,
    private readonly subscriber: Observer<unknown>,
  ) {}

  value(value: unknown, n: number): void {
    if (n > 0) this.record.answered = n;
    this.subscriber.next(value);
  }

  end(error: unknown, n: number): void {
    if (n > 0) this.record.answered = n;
    if (error === undefined) this.subscriber.complete();
    else this.subscriber.error(error);
  }

  /** The plugin left (an unsubscription after the run's end, the usual one, has nothing to stop: no error is built). */
  unsubscribe(): void {
    const run = this.run;
    if (run && !run.over) run.stop(localError(this.record.method.site, Status.CANCELLED, 'the plugin left the call', { local: true }));
  }
}

/**
 * What the intercept chain hands the call: its responses and its end, in the call's scope (a
 * plugin may hand it what another call's run emits: a shared or cached run answers in its context).
 */
export class ToRecord implements Observer<unknown> {
  constructor(private readonly record: CallRecord<unknown>) {}

  next(value: unknown): void {
    this.record.scope.runInAsyncScope(this.record.value, this.record, value, 0);
  }

  error(error: unknown): void {
    this.record.scope.runInAsyncScope(this.record.end, this.record, error, 0);
  }

  complete(): void {
    this.record.scope.runInAsyncScope(this.record.end, this.record, undefined, 0);
  }
}
