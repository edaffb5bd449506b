import { status } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { HedgingLoop, type HedgingLoopConfig } from '../../../libs/mesh-client/src/resilience/hedging-loop.js';
import { RetryBudget } from '../../../libs/mesh-client/src/resilience/retry-budget.js';
import { meshError } from '../../support/errors.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** A hedged call whose copy `n` is `copies[n - 1]`. */
function hedged$<T>(ts: TestScheduler, copies: Observable<T>[], extra: Partial<HedgingLoopConfig<T>> = {}): Observable<T> {
  return new Observable<T>((subscriber) => {
    const loop = new HedgingLoop<T>(
      {
        attempt: (n) => copies[n - 1]!,
        hedging: { maxAttempts: copies.length, delayMs: 30, nonFatalCodes: new Set([status.UNAVAILABLE]) },
        deadline: Infinity,
        now: () => ts.now(),
        ...extra,
      },
      subscriber,
    );
    loop.start();
    return () => loop.stop();
  });
}

describe('HedgingLoop, marbles', () => {
  it('a copy every delayMs; the first answer wins and the others are cancelled', () => {
    const ts = scheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('300ms (a|)', { a: 'slow' });
      const fast = cold('5ms (b|)', { b: 'fast' });
      const never = cold('-');
      expectObservable(hedged$(ts, [slow, fast, never])).toBe('35ms (b|)', { b: 'fast' });
      expectSubscriptions(slow.subscriptions).toBe('^ 34ms !');
      expectSubscriptions(fast.subscriptions).toBe('30ms ^ 4ms !');
      expectSubscriptions(never.subscriptions).toBe([]);
    });
  });

  it('a non-fatal failure sends the next copy at once; a fatal one ends the call and cancels the rest', () => {
    const ts = scheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const failsFast = cold('2ms #', undefined, meshError(status.UNAVAILABLE));
      const fatal = cold('3ms #', undefined, meshError(status.NOT_FOUND));
      const third = cold('100ms (c|)');
      expectObservable(hedged$(ts, [failsFast, fatal, third])).toBe('5ms #', undefined, meshError(status.NOT_FOUND, {}, 2));
      expectSubscriptions(fatal.subscriptions).toBe('2ms ^ 2ms !');
      expectSubscriptions(third.subscriptions).toBe([]);
    });
  });

  it('pushback stops further copies; the budget throttles them', () => {
    const ts = scheduler();
    ts.run(({ cold, expectSubscriptions }) => {
      const pushedBack = cold('1ms #', undefined, meshError(status.UNAVAILABLE, { 'grpc-retry-pushback-ms': '-1' }));
      const unused = cold('1ms (a|)');
      hedged$(ts, [pushedBack, unused]).subscribe({ error: () => undefined });
      expectSubscriptions(unused.subscriptions).toBe([]);
    });
    const budget = new RetryBudget({ maxTokens: 2, tokenRatio: 0.1 });
    ts.run(({ cold, expectSubscriptions }) => {
      const failing = cold('1ms #', undefined, meshError(status.UNAVAILABLE));
      const unused = cold('1ms (a|)');
      hedged$(ts, [failing, unused], { budget }).subscribe({ error: () => undefined });
      // 2 tokens, one failure takes one: 1 is not more than half of 2, no more copies
      expectSubscriptions(unused.subscriptions).toBe([]);
    });
  });
});
