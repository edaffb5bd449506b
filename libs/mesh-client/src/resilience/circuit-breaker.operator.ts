import { Observable, type MonoTypeOperatorFunction } from 'rxjs';
import { isMeshClientError, type MeshClientError } from '../errors/mesh-client.error.js';
import { outcomeOf, type CircuitBreaker } from './circuit-breaker.js';

/**
 * Passes each subscription (one attempt) through `breaker`: rejected at once with `reject()` when
 * the circuit is open, otherwise the attempt's outcome is reported when it ends. An attempt
 * unsubscribed before it ended reports 'ignored'. A thin adapter: all logic is in CircuitBreaker.
 *
 * @example
 * attempt$.pipe(circuitBreaker(breaker, () => circuitOpenError()))
 */
export function circuitBreaker<T>(breaker: CircuitBreaker, reject: () => MeshClientError): MonoTypeOperatorFunction<T> {
  return (source) =>
    new Observable<T>((subscriber) => {
      if (!breaker.tryAcquire()) {
        subscriber.error(reject());
        return;
      }
      let ended = false;
      const inner = source.subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => {
          ended = true;
          breaker.record(isMeshClientError(error) ? outcomeOf(error.code) : 'failure');
          subscriber.error(error);
        },
        complete: () => {
          ended = true;
          breaker.record('success');
          subscriber.complete();
        },
      });
      return () => {
        inner.unsubscribe();
        if (!ended) breaker.record('ignored');
      };
    });
}
