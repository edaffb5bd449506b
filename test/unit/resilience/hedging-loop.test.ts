import { status } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import type { AttemptHooks } from '../../../libs/mesh-client/src/resilience/attempt-gate.js';
import { HedgingLoop, type HedgingLoopSettings } from '../../../libs/mesh-client/src/resilience/hedging-loop.js';
import { RetryBudget } from '../../../libs/mesh-client/src/resilience/retry-budget.js';
import { observableRunner, observerSink } from '../../../libs/mesh-client/src/resilience/observable-runner.js';
import { meshError } from '../../support/errors.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** A hedged call whose copy `n` is `copies[n - 1]`. */
function hedged$<T>(ts: TestScheduler, copies: Observable<T>[], extra: Partial<HedgingLoopSettings> & { hooks?: AttemptHooks } = {}): Observable<T> {
  const { hooks, ...settings } = extra;
  return new Observable<T>((subscriber) => {
    const loop = new HedgingLoop<T>(
      {
        hedging: { maxAttempts: copies.length, delayMs: 30, nonFatalCodes: new Set([status.UNAVAILABLE]) },
        now: () => ts.now(),
        ...settings,
      },
      { deadline: Infinity, hooks, attempt: observableRunner((n) => copies[n - 1]!) },
      observerSink(subscriber),
    );
    loop.start();
    return () => loop.stop(undefined);
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
    const ts2 = scheduler();
    ts2.run(({ cold, expectSubscriptions }) => {
      const failing = cold('1ms #', undefined, meshError(status.UNAVAILABLE));
      const second = cold('1ms #', undefined, meshError(status.UNAVAILABLE));
      const unused = cold('1ms (a|)');
      hedged$(ts2, [failing, second, unused], { budget }).subscribe({ error: () => undefined });
      // 2 tokens; the second copy takes one when sent: 1 is not more than half of 2, no third copy
      expectSubscriptions(second.subscriptions).toBe('1ms ^ !');
      expectSubscriptions(unused.subscriptions).toBe([]);
    });
    expect(budget.available).toBe(1);
  });

  it('every further copy needs a place in the concurrency limit: without one it waits for the next turn', () => {
    const ts = scheduler();
    const places: string[] = [];
    let free = 0;
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const slow = cold('100ms (a|)', { a: 'slow' });
      const fast = cold('5ms (b|)', { b: 'fast' });
      const extraPermit = (): (() => void) | undefined => {
        if (free === 0) return undefined;
        free--;
        places.push('taken');
        return () => places.push('given back');
      };
      ts.schedule(() => (free = 1), 45);
      // no place at 30 ms: the copy waits a turn and goes at 60 ms, then answers first
      expectObservable(hedged$(ts, [slow, fast], { extraPermit })).toBe('65ms (b|)', { b: 'fast' });
      expectSubscriptions(fast.subscriptions).toBe('60ms ^ 4ms !');
    });
    expect(places).toEqual(['taken', 'given back']);
  });

  it("the copies that lost still see their end: every after hook runs once, the losers' as final", () => {
    const ts = scheduler();
    const ends: string[] = [];
    ts.run(({ cold, expectObservable }) => {
      const slow = cold('300ms (a|)', { a: 'slow' });
      const fast = cold('5ms (b|)', { b: 'fast' });
      const hooks = {
        before: (n: number) => void ends.push(`before ${String(n)}`),
        after: (n: number, o: { error: unknown; final: boolean }) =>
          void ends.push(`after ${String(n)} ${o.error === undefined ? 'ok' : 'lost'}${o.final ? ' final' : ''}`),
      };
      expectObservable(hedged$(ts, [slow, fast], { hooks })).toBe('35ms (b|)', { b: 'fast' });
    });
    expect(ends).toEqual(['before 1', 'before 2', 'after 2 ok', 'after 1 lost final']);
  });
});
