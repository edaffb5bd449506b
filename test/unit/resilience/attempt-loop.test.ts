import { status } from '@grpc/grpc-js';
import { Observable } from 'rxjs';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { MeshClientError } from '@datapunk/mesh-client';
import type { AttemptHooks } from '../../../libs/mesh-client/src/resilience/attempt-gate.js';
import { AttemptLoop, retryGate, type RetryLoopSettings } from '../../../libs/mesh-client/src/resilience/attempt-loop.js';
import { observableRunner, observerSink } from '../../../libs/mesh-client/src/resilience/observable-runner.js';
import { CircuitBreaker } from '../../../libs/mesh-client/src/resilience/circuit-breaker.js';
import { DEFAULT_RETRY_POLICY } from '../../../libs/mesh-client/src/resilience/retry-policy.js';
import { ConsecutiveFailuresRule } from '../../../libs/mesh-client/src/resilience/trip-rules.js';
import { UNAVAILABLE, meshError } from '../../support/errors.js';

const scheduler = (): TestScheduler => new TestScheduler((actual, expected) => expect(actual).toEqual(expected));

/** The loop as an Observable over `source` (each subscription of `source` is one attempt). */
function loop$<T>(ts: TestScheduler, source: Observable<T>, extra: Partial<RetryLoopSettings> & { hooks?: AttemptHooks } = {}): Observable<T> {
  const { hooks, ...settings } = extra;
  return new Observable<T>((subscriber) => {
    const loop = new AttemptLoop<T>(
      retryGate({ idempotent: false, streamsResponses: false, now: () => ts.now(), random: () => 0.5, ...settings }),
      { deadline: Infinity, hooks, attempt: observableRunner(() => source) },
      observerSink(subscriber),
    );
    loop.start();
    return () => loop.stop(undefined);
  });
}

const local = (): MeshClientError =>
  new MeshClientError({
    code: 3,
    codeName: 'INVALID_ARGUMENT',
    category: 'invalid-request',
    retryable: false,
    attempts: 1,
    client: 't',
    service: 's.S',
    method: 'M',
    details: 'x',
    local: true,
  });

const breakerOf = (failuresToOpen: number): CircuitBreaker =>
  new CircuitBreaker([new ConsecutiveFailuresRule(failuresToOpen)], { openMs: 1000, halfOpenMaxCalls: 1 }, () => 0);

describe('AttemptLoop (the engine of calls and operators), marbles', () => {
  it("'replay' from the after hook: one more attempt at once, outside maxAttempts, once per call", () => {
    const ts = scheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('#', undefined, UNAVAILABLE());
      const out = loop$(ts, source, { hooks: { after: () => 'replay' } });
      expectObservable(out).toBe('#', undefined, UNAVAILABLE());
      expectSubscriptions(source.subscriptions).toBe(['(^!)', '(^!)']);
    });
  });

  it('a local failure is not retried and the breaker ignores it', () => {
    const ts = scheduler();
    const breaker = breakerOf(1);
    ts.run(({ cold, expectSubscriptions }) => {
      const source = cold('#', undefined, local());
      loop$(ts, source, { retry: { ...DEFAULT_RETRY_POLICY, budget: false, retryableCodes: new Set([status.INVALID_ARGUMENT]) }, breaker }).subscribe(
        { error: () => undefined },
      );
      expectSubscriptions(source.subscriptions).toBe('(^!)');
    });
    expect(breaker.state).toBe('closed');
  });

  it('a before hook that throws fails the call, and the breaker admission is given back', () => {
    const ts = scheduler();
    let now = 2000;
    const halfOpen = new CircuitBreaker([new ConsecutiveFailuresRule(1)], { openMs: 1000, halfOpenMaxCalls: 1 }, () => now);
    halfOpen.tryAcquire();
    halfOpen.record('failure');
    now = 4000; // open time over: the next attempt is the one half-open probe
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('(a|)');
      const boom = new Error('hook');
      expectObservable(
        loop$(ts, source, {
          breaker: halfOpen,
          hooks: {
            before: () => {
              throw boom;
            },
          },
        }),
      ).toBe('#', undefined, boom);
      expectSubscriptions(source.subscriptions).toBe([]);
    });
    expect(halfOpen.tryAcquire()).toBe(true); // the probe slot came back
  });

  it('holds the single response until the after hook has seen the end: a throwing hook means no value', () => {
    const ts = scheduler();
    ts.run(({ cold, expectObservable }) => {
      const boom = new Error('after');
      expectObservable(
        loop$(ts, cold('(a|)'), {
          hooks: {
            after: () => {
              throw boom;
            },
          },
        }),
      ).toBe('#', undefined, boom);
      expectObservable(loop$(ts, cold('-(a|)'))).toBe('-(a|)');
    });
  });

  it('streamed responses pass at once and commit the call: a later error is not retried', () => {
    const ts = scheduler();
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const source = cold('a-#', { a: 1 }, UNAVAILABLE());
      expectObservable(loop$(ts, source, { streamsResponses: true, retry: { ...DEFAULT_RETRY_POLICY, budget: false } })).toBe(
        'a-#',
        { a: 1 },
        UNAVAILABLE(),
      );
      expectSubscriptions(source.subscriptions).toBe('^-!');
    });
  });

  it('an open breaker rejects with the attempts made so far, and nothing is subscribed', () => {
    const ts = scheduler();
    const breaker = breakerOf(1);
    ts.run(({ cold, expectSubscriptions }) => {
      const source = cold('#', undefined, meshError(status.UNAVAILABLE));
      let rejectedAfter = -1;
      const out = loop$(ts, source, {
        breaker,
        retry: { ...DEFAULT_RETRY_POLICY, budget: false },
        rejection: (attempts) => ((rejectedAfter = attempts), new Error('open')),
      });
      out.subscribe({ error: () => undefined });
      // attempt 1 fails and opens the breaker; the retry 100 ms later is refused
      expectSubscriptions(source.subscriptions).toBe('(^!)');
      ts.flush();
      expect(rejectedAfter).toBe(1);
    });
  });
});
