import { status } from '@grpc/grpc-js';
import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { BREAKER_DEFAULTS } from '../../../libs/mesh-client/src/config/defaults.js';
import { BreakerSet } from '../../../libs/mesh-client/src/resilience/breaker-set.js';
import { CircuitBreaker, outcomeOf, type BreakerTransition } from '../../../libs/mesh-client/src/resilience/circuit-breaker.js';
import { circuitBreaker } from '../../../libs/mesh-client/src/resilience/circuit-breaker.operator.js';
import { ConsecutiveFailuresRule, FailureRateRule } from '../../../libs/mesh-client/src/resilience/trip-rules.js';
import { UNAVAILABLE, meshError } from '../../support/errors.js';

function harness(rules: 'rate' | 'consecutive', timing = { openMs: 1000, halfOpenMaxCalls: 1 }) {
  let now = 0;
  const changes: BreakerTransition[] = [];
  const rule = rules === 'rate' ? new FailureRateRule(0.5, 4, 1000) : new ConsecutiveFailuresRule(3);
  const breaker = new CircuitBreaker(
    [rule],
    timing,
    () => now,
    (c) => changes.push(c),
  );
  return {
    breaker,
    changes,
    advance: (ms: number) => (now += ms),
    run: (outcome: 'success' | 'failure' | 'ignored') => breaker.tryAcquire() && (breaker.record(outcome), true),
  };
}

describe('CircuitBreaker, failure-rate rule', () => {
  it('stays closed below minimumCalls, opens at the threshold rate once enough calls are in the window', () => {
    const h = harness('rate');
    h.run('failure');
    h.run('failure');
    h.run('failure');
    expect(h.breaker.state).toBe('closed'); // 3 calls < minimumCalls 4
    h.run('success');
    expect(h.breaker.state).toBe('open'); // 3/4 failed >= 0.5
    expect(h.changes).toEqual([{ from: 'closed', to: 'open' }]);
  });

  it('a threshold of 0 opens on the first failure once minimumCalls are counted, never on successes alone', () => {
    const rule = new FailureRateRule(0, 4, 1000);
    for (let i = 0; i < 10; i++) rule.record(false, 0);
    expect(rule.shouldTrip(0)).toBe(false); // 10 successes: a rate of 0 is no failure
    rule.record(true, 0);
    expect(rule.shouldTrip(0)).toBe(true); // 1 of 11
  });

  it('forgets outcomes that slid out of the window', () => {
    const h = harness('rate');
    h.run('failure');
    h.run('failure');
    h.advance(1100);
    h.run('failure');
    h.run('success');
    h.run('success');
    expect(h.breaker.state).toBe('closed'); // only 1 failure of 3 in the window
  });

  it('open rejects until openMs, then half-open lets one probe through; success closes', () => {
    const h = harness('rate');
    for (let i = 0; i < 4; i++) h.run('failure');
    expect(h.breaker.tryAcquire()).toBe(false);
    h.advance(999);
    expect(h.breaker.tryAcquire()).toBe(false);
    h.advance(1);
    expect(h.breaker.state).toBe('half-open');
    expect(h.breaker.tryAcquire()).toBe(true); // the probe
    expect(h.breaker.tryAcquire()).toBe(false); // only halfOpenMaxCalls probes
    h.breaker.record('success');
    expect(h.breaker.state).toBe('closed');
    expect(h.changes.map((c) => c.to)).toEqual(['open', 'half-open', 'closed']);
    h.run('failure');
    expect(h.breaker.state).toBe('closed'); // statistics were reset on closing
  });

  it('a failed probe opens it again for another openMs', () => {
    const h = harness('rate');
    for (let i = 0; i < 4; i++) h.run('failure');
    h.advance(1000);
    expect(h.run('failure')).toBe(true);
    expect(h.breaker.state).toBe('open');
    h.advance(500);
    expect(h.breaker.tryAcquire()).toBe(false);
    expect(h.changes.map((c) => c.to)).toEqual(['open', 'half-open', 'open']);
  });

  it('an ignored probe (cancelled) frees its slot without deciding', () => {
    const h = harness('rate');
    for (let i = 0; i < 4; i++) h.run('failure');
    h.advance(1000);
    expect(h.run('ignored')).toBe(true);
    expect(h.breaker.state).toBe('half-open');
    expect(h.run('success')).toBe(true);
    expect(h.breaker.state).toBe('closed');
  });

  it('half-open counts only its own probes: an attempt let through while closed answers none, frees none', () => {
    const h = harness('rate');
    expect(h.breaker.tryAcquire()).toBe(true);
    const longOne = h.breaker.epoch; // admitted while closed, still running
    for (let i = 0; i < 4; i++) h.run('failure');
    h.advance(1000);
    expect(h.breaker.tryAcquire()).toBe(true); // the probe
    const probe = h.breaker.epoch;
    h.breaker.record('ignored', longOne); // would have freed the probe's slot
    expect(h.breaker.tryAcquire()).toBe(false);
    h.breaker.record('success', longOne); // would have closed it with no probe answered
    expect(h.breaker.state).toBe('half-open');
    h.breaker.record('success', probe);
    expect(h.breaker.state).toBe('closed');
  });

  it('needs halfOpenMaxCalls successful probes to close', () => {
    const h = harness('rate', { openMs: 1000, halfOpenMaxCalls: 2 });
    for (let i = 0; i < 4; i++) h.run('failure');
    h.advance(1000);
    expect(h.breaker.tryAcquire()).toBe(true);
    expect(h.breaker.tryAcquire()).toBe(true);
    expect(h.breaker.tryAcquire()).toBe(false);
    h.breaker.record('success');
    expect(h.breaker.state).toBe('half-open');
    h.breaker.record('success');
    expect(h.breaker.state).toBe('closed');
  });
});

describe('CircuitBreaker, consecutive-failures rule', () => {
  it('opens after N failures in a row; a success in between resets the streak', () => {
    const h = harness('consecutive');
    h.run('failure');
    h.run('failure');
    h.run('success');
    h.run('failure');
    h.run('failure');
    expect(h.breaker.state).toBe('closed');
    h.run('failure');
    expect(h.breaker.state).toBe('open');
    h.advance(1000);
    expect(h.run('success')).toBe(true);
    expect(h.breaker.state).toBe('closed');
    expect(h.changes.map((c) => c.to)).toEqual(['open', 'half-open', 'closed']);
  });
});

describe('what counts', () => {
  it('only server faults are failures; client faults succeed; CANCELLED is ignored', () => {
    const failures = ['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'INTERNAL', 'UNKNOWN', 'DATA_LOSS', 'RESOURCE_EXHAUSTED'] as const;
    for (const name of failures) expect(outcomeOf(status[name])).toBe('failure');
    for (const name of [
      'INVALID_ARGUMENT',
      'NOT_FOUND',
      'ALREADY_EXISTS',
      'PERMISSION_DENIED',
      'UNAUTHENTICATED',
      'FAILED_PRECONDITION',
      'UNIMPLEMENTED',
    ] as const) {
      expect(outcomeOf(status[name])).toBe('success');
    }
    expect(outcomeOf(status.CANCELLED)).toBe('ignored');
  });
});

describe('BreakerSet scope', () => {
  it('client scope shares one breaker; method scope keeps one per RPC', () => {
    const shared = new BreakerSet({ ...BREAKER_DEFAULTS, consecutiveFailures: 1 }, () => 0);
    shared.for('A').record('failure');
    expect(shared.state('B')).toBe('open');
    const perMethod = new BreakerSet({ ...BREAKER_DEFAULTS, scope: 'method', consecutiveFailures: 1 }, () => 0);
    perMethod.for('A').record('failure');
    expect(perMethod.state('A')).toBe('open');
    expect(perMethod.state('B')).toBe('closed');
  });

  it("method scope without a method reads the worst of the methods' breakers (before: always closed)", () => {
    let now = 0;
    const perMethod = new BreakerSet({ ...BREAKER_DEFAULTS, scope: 'method', consecutiveFailures: 1, openMs: 100 }, () => now);
    expect(perMethod.state()).toBe('closed');
    perMethod.for('A').record('success');
    perMethod.for('B').record('failure');
    expect(perMethod.state()).toBe('open');
    now = 100;
    expect(perMethod.state()).toBe('half-open');
    perMethod.for('B').tryAcquire();
    perMethod.for('B').record('success', perMethod.for('B').epoch);
    expect(perMethod.state()).toBe('closed');
  });
});

describe('circuitBreaker operator (marbles)', () => {
  it('rejects at once while open, without subscribing the attempt', () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
    const breaker = new CircuitBreaker([new ConsecutiveFailuresRule(1)], { openMs: 50, halfOpenMaxCalls: 1 }, () => ts.now());
    const rejection = meshError(status.UNAVAILABLE);
    ts.run(({ cold, expectObservable, expectSubscriptions }) => {
      const failing = cold('-#', undefined, UNAVAILABLE());
      expectObservable(failing.pipe(circuitBreaker(breaker, () => rejection))).toBe('-#', undefined, UNAVAILABLE());
      const later = cold('a|');
      expectObservable(later.pipe(circuitBreaker(breaker, () => rejection)), '--^').toBe('--#', undefined, rejection);
      expectSubscriptions(later.subscriptions).toBe([]);
    });
    expect(breaker.state).toBe('open');
  });

  it('reports success on completion and ignores an unsubscribed attempt', () => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
    const breaker = new CircuitBreaker([new ConsecutiveFailuresRule(1)], { openMs: 50, halfOpenMaxCalls: 1 }, () => ts.now());
    ts.run(({ cold, expectObservable }) => {
      expectObservable(cold('a|').pipe(circuitBreaker(breaker, UNAVAILABLE))).toBe('a|');
      expectObservable(cold('-----#', undefined, UNAVAILABLE()).pipe(circuitBreaker(breaker, UNAVAILABLE)), '--!').toBe('--');
    });
    expect(breaker.state).toBe('closed');
  });
});

describe('every transition in virtual time (marbles), for both trip rules', () => {
  it.each([
    ['failure rate', () => new FailureRateRule(0.5, 2, 100)],
    ['consecutive failures', () => new ConsecutiveFailuresRule(2)],
  ])('%s: closed -> open -> half-open -> open -> half-open -> closed', (_name, rule) => {
    const ts = new TestScheduler((a, e) => expect(a).toEqual(e));
    const changes: string[] = [];
    const breaker = new CircuitBreaker(
      [rule()],
      { openMs: 10, halfOpenMaxCalls: 1 },
      () => ts.now(),
      (c) => changes.push(`${String(ts.now())}:${c.to}`),
    );
    const rejection = meshError(status.UNAVAILABLE);
    ts.run(({ cold, expectObservable }) => {
      const fail = () => cold('#', undefined, UNAVAILABLE()).pipe(circuitBreaker(breaker, () => rejection));
      const ok = () => cold('(a|)').pipe(circuitBreaker(breaker, () => rejection));
      expectObservable(fail(), '^').toBe('#', undefined, UNAVAILABLE()); // t0: closed, failure 1
      expectObservable(fail(), '-^').toBe('-#', undefined, UNAVAILABLE()); // t1: failure 2 -> open
      expectObservable(ok(), '--^').toBe('--#', undefined, rejection); // t2: open rejects
      expectObservable(fail(), '-----------^').toBe('-----------#', undefined, UNAVAILABLE()); // t11: probe fails -> open
      expectObservable(ok(), '------------^').toBe('------------#', undefined, rejection); // t12: open again
      expectObservable(ok(), '----------------------^').toBe('----------------------(a|)'); // t22: probe succeeds -> closed
    });
    expect(changes).toEqual(['1:open', '11:half-open', '11:open', '22:half-open', '22:closed']);
  });
});
