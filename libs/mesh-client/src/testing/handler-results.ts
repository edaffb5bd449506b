import { isObservable, type Observable } from 'rxjs';
import { AsyncQueue } from './async-queue.js';

/** What a handler returned that the fake cannot answer with; the call ends INTERNAL with this message. */
export class HandlerResultProblem extends Error {
  override readonly name = 'HandlerResultProblem';
}

const describe = (value: unknown): string =>
  value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value === 'object' ? 'an object (one message?)' : `a ${typeof value}`;

/** Unsubscribes from `source` when `signal` aborts. */
function untilAborted<T>(source: Observable<T>, queue: AsyncQueue<T>, signal: AbortSignal): void {
  const subscription = source.subscribe({ next: (v) => queue.push(v), error: (e: unknown) => queue.fail(e), complete: () => queue.end() });
  const stop = (): void => {
    subscription.unsubscribe();
    queue.end();
  };
  if (signal.aborted) stop();
  else signal.addEventListener('abort', stop, { once: true });
  subscription.add(() => signal.removeEventListener('abort', stop));
}

/**
 * The one response of a unary or client-streaming handler: the value, what its Promise resolves
 * to, or the last value of its Observable (unsubscribed when the call is cancelled).
 */
export async function singleOf(result: unknown, signal: AbortSignal): Promise<unknown> {
  const settled: unknown = await result;
  if (!isObservable(settled)) return settled;
  const queue = new AsyncQueue<unknown>();
  untilAborted(settled, queue, signal);
  let last: { value: unknown } | undefined;
  for await (const value of queue) last = { value };
  if (!last && !signal.aborted) throw new HandlerResultProblem('the handler returned an Observable that completed without a value');
  return last?.value;
}

/**
 * The responses of a server- or bidi-streaming handler: an iterable, an AsyncIterable or an
 * Observable (or a Promise of one), read as an AsyncIterable.
 */
export async function streamOf(result: unknown, signal: AbortSignal): Promise<AsyncIterable<unknown> | Iterable<unknown>> {
  const settled: unknown = await result;
  if (isObservable(settled)) {
    const queue = new AsyncQueue<unknown>();
    untilAborted(settled, queue, signal);
    return queue;
  }
  const isObject = typeof settled === 'object' && settled !== null;
  if (isObject && Symbol.asyncIterator in settled) return settled as AsyncIterable<unknown>;
  if (isObject && Symbol.iterator in settled) return settled as Iterable<unknown>;
  throw new HandlerResultProblem(
    `a streaming handler must return an iterable (an array, a generator), an AsyncIterable or an Observable of responses, got ${describe(settled)}`,
  );
}
