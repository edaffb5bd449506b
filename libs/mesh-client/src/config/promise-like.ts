/**
 * Whether `value` is a thenable: what a hook, a request stream or an iterator's `next()` gave
 * back is awaited only then. A `then` getter that throws is the value's owner's: callers read it
 * inside their own guard. Shared by every layer, so it lives on the floor.
 */
export const isPromiseLike = <V = unknown>(value: unknown): value is PromiseLike<V> => typeof (value as PromiseLike<V> | null)?.then === 'function';

/**
 * A hook or callback whose answer is not awaited (`onHeaders`, `onHeader`, `onTrailer`, a
 * logger): a Promise it gives back anyway (an `async` function) is still watched, so that its
 * rejection goes to `report` instead of ending the process as an unhandled rejection. Neither a
 * `then` that throws nor a `report` that throws gets out.
 */
export function watchUnawaited(answer: unknown, report: (error: unknown) => void): void {
  try {
    if (!isPromiseLike(answer)) return;
    answer.then(undefined, (error: unknown) => {
      try {
        report(error);
      } catch {
        // nowhere left to report it
      }
    });
  } catch {
    // a `then` that throws started nothing that could reject
  }
}
