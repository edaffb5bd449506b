import { status } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { backoffDelay } from '../../../libs/mesh-client/src/resilience/backoff.js';
import { RetryBudget } from '../../../libs/mesh-client/src/resilience/retry-budget.js';
import type { ResolvedRetryPolicy } from '../../../libs/mesh-client/src/config/policies.js';
import { DEFAULT_RETRY_POLICY } from '../../../libs/mesh-client/src/resilience/retry-policy.js';
import { retryCall, type RetryConfig } from '../../../libs/mesh-client/src/resilience/retry.operator.js';
import { UNAVAILABLE, meshError, seeded, sequence } from '../../support/errors.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

function config(ts: TestScheduler, extra: Partial<Omit<RetryConfig, 'policy'>> & { policy?: Partial<ResolvedRetryPolicy> } = {}): RetryConfig {
  const { policy, ...rest } = extra;
  return {
    policy: { ...DEFAULT_RETRY_POLICY, budget: false, ...policy },
    budget: undefined,
    deadline: Infinity,
    idempotent: false,
    committed: () => false,
    now: () => ts.now(),
    random: () => 0.5,
    ...rest,
  };
}

describe('backoff', () => {
  it('is min(initial * multiplier^(n-1), max) * random(0.8, 1.2)', () => {
    const p = { initialBackoffMs: 100, maxBackoffMs: 5000, backoffMultiplier: 2, jitter: 0.2 };
    expect([1, 2, 3, 4, 7, 10].map((n) => backoffDelay(n, p, () => 0.5))).toEqual([100, 200, 400, 800, 5000, 5000]);
    expect(backoffDelay(1, p, () => 0)).toBe(80);
    expect(backoffDelay(2, p, () => 0.999999)).toBe(240);
  });

  it('with a seeded random stays inside the jitter band and is reproducible', () => {
    const p = { initialBackoffMs: 100, maxBackoffMs: 5000, backoffMultiplier: 2, jitter: 0.2 };
    const run = (r: () => number) => [1, 2, 3, 4].map((n) => backoffDelay(n, p, r));
    const first = run(seeded(7));
    expect(run(seeded(7))).toEqual(first);
    first.forEach((d, i) => {
      const base = 100 * 2 ** i;
      expect(d).toBeGreaterThanOrEqual(base * 0.8);
      expect(d).toBeLessThan(base * 1.2);
    });
  });
});

describe('retryCall (marbles)', () => {
  it('follows the backoff schedule with jitter: attempts at 0, 80 and 80+240 ms', () => {
    const ts = scheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('#', undefined, UNAVAILABLE());
      const out = source.pipe(retryCall(config(ts, { random: sequence(0, 0.999999) })));
      expectObservable(out).toBe('320ms #', undefined, UNAVAILABLE());
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '80ms (^!)', '320ms (^!)']);
    });
  });

  it('draws one seeded jitter per retry, in order', () => {
    const expected = seeded(42);
    const p = { initialBackoffMs: 100, maxBackoffMs: 5000, backoffMultiplier: 2, jitter: 0.2 };
    const d1 = backoffDelay(1, p, expected);
    const d2 = backoffDelay(2, p, expected);
    const ts = scheduler();
    ts.run(({ cold, expectSubscriptions }) => {
      const source = cold('#', undefined, UNAVAILABLE());
      source.pipe(retryCall(config(ts, { random: seeded(42) }))).subscribe({ error: () => undefined });
      expectSubscriptions(source.subscriptions).toBe(['(^!)', `${String(d1)}ms (^!)`, `${String(d1 + d2)}ms (^!)`]);
    });
    expect(d1).not.toBe(100);
  });

  it('succeeds on a later attempt and stops retrying', () => {
    const ts = scheduler();
    ts.run(({ cold, expectObservable }) => {
      let n = 0;
      const flaky = cold('#', undefined, UNAVAILABLE());
      const ok = cold('(a|)');
      const source = new Observable<string>((s) => (n++ < 1 ? flaky : ok).subscribe(s));
      expectObservable(source.pipe(retryCall(config(ts)))).toBe('100ms (a|)');
    });
  });

  it('never retries codes outside retryableCodes, nor circuit-open', () => {
    const ts = scheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const invalid = cold('#', undefined, meshError(status.INVALID_ARGUMENT));
      expectObservable(invalid.pipe(retryCall(config(ts)))).toBe('#', undefined, meshError(status.INVALID_ARGUMENT));
      expectSubscriptions(invalid.subscriptions).toBe('(^!)');
    });
    const open = Object.assign(UNAVAILABLE(), { category: 'circuit-open' });
    ts.run(({ cold, expectSubscriptions }) => {
      const source = cold('#', undefined, open);
      source.pipe(retryCall(config(ts))).subscribe({ error: () => undefined });
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
  });

  it('server pushback: waits exactly the pushback, then restarts the backoff from initial', () => {
    const ts = scheduler();
    ts.run(({ cold, expectSubscriptions }) => {
      let n = 0;
      const errors = [meshError(14), meshError(14, { 'grpc-retry-pushback-ms': '300' }), meshError(14), meshError(14)];
      const source = cold('#');
      const steered = new Observable((s) => {
        const sub = source.subscribe({ error: () => s.error(errors[n++]) });
        return sub;
      });
      steered.pipe(retryCall(config(ts, { policy: { maxAttempts: 5 } }))).subscribe({ error: () => undefined });
      // backoff 100 after #1; pushback 300 after #2; backoff restarts at 100 after #3, then 200.
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '100ms (^!)', '400ms (^!)', '500ms (^!)', '700ms (^!)']);
    });
  });

  it.each(['-1', 'soon', '1.5', ''])('pushback %j means do not retry', (value) => {
    const ts = scheduler();
    ts.run(({ cold, expectSubscriptions }) => {
      const source = cold('#', undefined, meshError(14, { 'grpc-retry-pushback-ms': value }));
      source.pipe(retryCall(config(ts))).subscribe({ error: () => undefined });
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
  });

  it('never waits past the deadline: fails at once with the last error when the next backoff cannot fit', () => {
    const ts = scheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('#', undefined, UNAVAILABLE());
      const out = source.pipe(retryCall(config(ts, { deadline: 250 })));
      // attempt 1 at 0, attempt 2 at 100; the next wait (200) would end at 300 > 250: fail at 100.
      expectObservable(out).toBe('100ms #', undefined, UNAVAILABLE());
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '100ms (^!)']);
    });
  });

  it('retries an attempt timeout only for idempotent methods', () => {
    for (const idempotent of [false, true]) {
      const ts = scheduler();
      ts.run(({ cold, expectSubscriptions }) => {
        const source = cold('#', undefined, meshError(status.DEADLINE_EXCEEDED));
        source.pipe(retryCall(config(ts, { idempotent, deadline: 10_000 }))).subscribe({ error: () => undefined });
        expectSubscriptions(source.subscriptions).toBe(idempotent ? ['(^!)', '100ms (^!)', '300ms (^!)'] : ['(^!)']);
      });
    }
  });

  it('stream commit rule: after the first response message, an error passes through', () => {
    const ts = scheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      let committed = false;
      const source = cold('a-#', { a: 1 }, UNAVAILABLE());
      const tracked = new Observable<number>((s) =>
        source.subscribe({ next: (v) => ((committed = true), s.next(v)), error: (e: unknown) => s.error(e) }),
      );
      expectObservable(tracked.pipe(retryCall(config(ts, { committed: () => committed })))).toBe('a-#', { a: 1 }, UNAVAILABLE());
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('budget: the operator takes a token per failed attempt; retries stop when tokens fall to half, and come back as successes refill it', () => {
    const budget = new RetryBudget({ maxTokens: 4, tokenRatio: 1 });
    const ts = scheduler();
    ts.run(({ cold, expectSubscriptions }) => {
      const source = cold('#', undefined, UNAVAILABLE());
      source.pipe(retryCall(config(ts, { budget, policy: { maxAttempts: 5 } }))).subscribe({ error: () => undefined });
      // 4 -> 3 (retry allowed: 3 > 2) -> 2 (not > 2): two attempts only.
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '100ms (^!)']);
    });
    expect(budget.available).toBe(2);
    expect(budget.canRetry()).toBe(false);
    budget.onSuccess();
    expect(budget.canRetry()).toBe(true);
    for (let i = 0; i < 10; i++) budget.onSuccess();
    expect(budget.available).toBe(4);
  });

  it('keeps its backoff state per subscription: a second call starts again from initialBackoffMs', () => {
    const ts = scheduler();
    ts.run(({ cold, expectSubscriptions }) => {
      const source = cold('#', undefined, UNAVAILABLE());
      const retried = source.pipe(retryCall(config(ts)));
      retried.subscribe({ error: () => undefined });
      ts.schedule(() => retried.subscribe({ error: () => undefined }), 1000);
      // each call: attempts at +0, +100, +300 (not 400 / 800 for the second)
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '100ms (^!)', '300ms (^!)', '1000ms (^!)', '1100ms (^!)', '1300ms (^!)']);
    });
  });

  it('is the identity with maxAttempts 1', () => {
    const ts = scheduler();
    ts.run(({ cold, expectSubscriptions }) => {
      const source = cold('#', undefined, UNAVAILABLE());
      source.pipe(retryCall(config(ts, { policy: { maxAttempts: 1 } }))).subscribe({ error: () => undefined });
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
  });
});
