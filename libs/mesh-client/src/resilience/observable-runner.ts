import type { Observable, Observer } from 'rxjs';
import type { AttemptRunner } from './attempt-gate.js';
import type { CallSink } from './attempt-loop.js';

/** Attempts as cold Observables (each subscription one attempt), for the loops. */
export function observableRunner<T>(attempt$: (n: number) => Observable<T>): AttemptRunner<T> {
  return (n, sink) => {
    const subscription = attempt$(n).subscribe({
      next: (value) => sink.value(value),
      error: (error: unknown) => sink.end(error),
      complete: () => sink.end(undefined),
    });
    return { cancel: () => subscription.unsubscribe() };
  };
}

/** A loop's outcome delivered to an RxJS observer. */
export function observerSink<T>(observer: Observer<T>): CallSink<T> {
  return {
    value: (value) => observer.next(value),
    end: (error) => (error === undefined ? observer.complete() : observer.error(error)),
  };
}
