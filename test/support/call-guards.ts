import type { Observable, Subscription } from 'rxjs';
import { afterAll, beforeAll, beforeEach } from 'vitest';

/** How a watched call (or promise) ended: its values then an end, or 'hung' when the watchdog fired first. */
export type Settled<T> =
  | { readonly kind: 'complete'; readonly values: T[]; readonly ms: number }
  | { readonly kind: 'error'; readonly values: T[]; readonly error: unknown; readonly ms: number }
  | { readonly kind: 'hung'; readonly values: T[]; readonly ms: number };

/**
 * Subscribes to `call` and resolves with how it ended and how long it took. A call still running
 * after `watchdogMs` is unsubscribed and reported as 'hung', so a hang fails a test instead of
 * hanging it.
 */
export function settleOf<T>(call: Observable<T>, watchdogMs: number): Promise<Settled<T>> {
  const started = performance.now();
  const values: T[] = [];
  return new Promise((resolve) => {
    let done = false;
    const finish = (settled: Settled<T>): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(settled);
    };
    const timer = setTimeout(() => {
      subscription.unsubscribe();
      finish({ kind: 'hung', values, ms: performance.now() - started });
    }, watchdogMs);
    const subscription: Subscription = call.subscribe({
      next: (value) => values.push(value),
      error: (error: unknown) => finish({ kind: 'error', values, error, ms: performance.now() - started }),
      complete: () => finish({ kind: 'complete', values, ms: performance.now() - started }),
    });
    if (done) subscription.unsubscribe();
  });
}

/** The same for a promise (which cannot be cancelled: a hung one is just reported). */
export function settlePromise<T>(promise: Promise<T>, watchdogMs: number): Promise<Settled<T>> {
  const started = performance.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve({ kind: 'hung', values: [], ms: performance.now() - started }), watchdogMs);
    promise.then(
      (value) => {
        clearTimeout(timer);
        resolve({ kind: 'complete', values: [value], ms: performance.now() - started });
      },
      (error: unknown) => {
        clearTimeout(timer);
        resolve({ kind: 'error', values: [], error, ms: performance.now() - started });
      },
    );
  });
}

/** What `settleOf` saw, in a form a failing assertion prints usefully. */
export function summary(settled: Settled<unknown>): { kind: string; category?: unknown; message?: string } {
  if (settled.kind !== 'error') return { kind: settled.kind };
  const error = settled.error as { category?: unknown; message?: unknown } | undefined;
  return { kind: 'error', category: error?.category, message: typeof error?.message === 'string' ? error.message : String(settled.error) };
}

/**
 * Collects every uncaught exception and unhandled rejection of this test file's process (vitest
 * runs each file in its own fork) while its tests run, from the start of each test: they must
 * stay empty.
 */
export function useUncaughtCollector(): { readonly errors: unknown[] } {
  const collected = { errors: [] as unknown[] };
  const onError = (error: unknown): void => void collected.errors.push(error);
  beforeAll(() => {
    process.on('uncaughtException', onError);
    process.on('unhandledRejection', onError);
  });
  beforeEach(() => {
    collected.errors.length = 0;
  });
  afterAll(() => {
    process.off('uncaughtException', onError);
    process.off('unhandledRejection', onError);
  });
  return collected;
}

/** Messages of collected errors, for an assertion that prints them. */
export const messagesOf = (errors: unknown[]): string[] => errors.map((e) => (e instanceof Error ? `${e.name}: ${e.message}` : String(e)));
