import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { AttemptLoop } from './attempt-loop.js';
import type { CircuitBreaker } from './circuit-breaker.js';
import { observableRunner, observerSink } from './observable-runner.js';

/**
 * Passes each subscription (one attempt) through `breaker`: rejected at once with `reject()` when
 * the circuit is open, otherwise the attempt's outcome is reported when it ends (server faults
 * fail, CANCELLED and local failures are ignored, the rest succeed). An attempt unsubscribed before
 * it ended reports 'ignored'. Runs the same engine as the client's calls (AttemptLoop, through the
 * attempt gate).
 *
 * @example
 * attempt$.pipe(circuitBreaker(breaker, () => circuitOpenError()))
 */
export function circuitBreaker<T>(breaker: CircuitBreaker, reject: () => unknown): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      const loop = new AttemptLoop<T>(
        { breaker, rejection: reject, idempotent: false, streamsResponses: true, now: Date.now, random: Math.random },
        { deadline: Infinity, attempt: observableRunner(() => source) },
        observerSink(subscriber),
      );
      loop.start();
      return () => loop.stop(undefined);
    });
}
