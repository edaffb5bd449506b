import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AdaptiveLimit } from '../../../libs/mesh-client/src/resilience/adaptive-limit.js';
import {
  ConcurrencyLimiter,
  type LimitedReason,
  type Permit,
  type PermitWaiter,
  type QueueTicket,
} from '../../../libs/mesh-client/src/resilience/concurrency-limiter.js';

describe('ConcurrencyLimiter (fixed)', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  function harness(limit: number, maxQueue: number, queueTimeoutMs?: number) {
    const limited: LimitedReason[] = [];
    const limiter = new ConcurrencyLimiter({ limit, maxQueue, queueTimeoutMs }, Date.now, Math.random, { onLimited: (r) => limited.push(r) });
    const granted: number[] = [];
    const refused: [number, LimitedReason][] = [];
    const permits = new Map<number, Permit>();
    const ask = (id: number, waitMs = 10_000): QueueTicket =>
      limiter.acquire(
        {
          granted: (p) => {
            granted.push(id);
            permits.set(id, p);
          },
          refused: (r) => refused.push([id, r]),
        },
        waitMs,
      );
    return { limiter, limited, granted, refused, permits, ask };
  }

  it('grants at once up to the limit, queues FIFO up to maxQueue, refuses the rest at once', () => {
    const h = harness(2, 2);
    for (let id = 1; id <= 6; id++) h.ask(id);
    expect(h.granted).toEqual([1, 2]);
    expect(h.refused).toEqual([
      [5, 'queue_full'],
      [6, 'queue_full'],
    ]);
    h.permits.get(2)!.release();
    expect(h.granted).toEqual([1, 2, 3]);
    h.permits.get(1)!.release();
    h.permits.get(1)!.release(); // twice is once
    expect(h.granted).toEqual([1, 2, 3, 4]);
    expect(h.limiter.active).toBe(2);
  });

  it("a waiting call gives up after queueTimeoutMs (its deadline is its owner's to enforce); a withdrawn one leaves the queue at once", () => {
    const h = harness(1, 5, 100);
    h.ask(1);
    h.ask(2);
    h.ask(3, 40); // its deadline comes first: no queue timer, its owner withdraws it
    h.ask(4).withdraw();
    expect(h.limiter.waiting).toBe(2);
    vi.advanceTimersByTime(100);
    expect(h.refused).toEqual([[2, 'queue_timeout']]);
    expect(h.limiter.waiting).toBe(1);
    h.permits.get(1)!.release();
    expect(h.granted).toEqual([1, 3]);
    expect(h.limited).toEqual(['queue_timeout']);
  });

  it('never holds more than maxQueue waiters: calls that left make room at once', () => {
    const h = harness(1, 3);
    h.ask(1);
    for (let id = 2; id < 10_002; id++) h.ask(id).withdraw();
    expect(h.limiter.waiting).toBe(0);
    for (let id = 20_000; id < 20_003; id++) h.ask(id);
    h.ask(30_000);
    expect(h.refused).toEqual([[30_000, 'queue_full']]);
  });

  it('hands permits on in a loop: 100,000 waiters that each fail at once when admitted drain without recursion', () => {
    const limiter = new ConcurrencyLimiter({ limit: 10, maxQueue: 200_000, queueTimeoutMs: undefined }, Date.now, Math.random);
    const held: Permit[] = [];
    for (let i = 0; i < 10; i++) limiter.acquire({ granted: (p) => held.push(p), refused: () => undefined }, 1000);
    let admitted = 0;
    const failsAtOnce: PermitWaiter = {
      granted: (p) => {
        admitted++;
        p.release();
      },
      refused: () => undefined,
    };
    for (let i = 0; i < 100_000; i++) limiter.acquire(failsAtOnce, 1000);
    for (const p of held) p.release();
    expect(admitted).toBe(100_000);
    expect([limiter.active, limiter.waiting]).toEqual([0, 0]);
  });

  it('a waiter that throws when granted does not stop the queue: its permit comes back', () => {
    const limiter = new ConcurrencyLimiter({ limit: 1, maxQueue: 10, queueTimeoutMs: undefined }, Date.now, Math.random);
    let first: Permit | undefined;
    limiter.acquire({ granted: (p) => (first = p), refused: () => undefined }, 1000);
    limiter.acquire(
      {
        granted: () => {
          throw new Error('boom');
        },
        refused: () => undefined,
      },
      1000,
    );
    let later: Permit | undefined;
    limiter.acquire({ granted: (p) => (later = p), refused: () => undefined }, 1000);
    first!.release();
    expect(later).toBeDefined();
    expect([limiter.active, limiter.waiting]).toEqual([1, 0]);
  });

  it('tryAcquire (a hedged copy) takes a free place only when nobody waits', () => {
    const h = harness(2, 5);
    h.ask(1);
    const extra = h.limiter.tryAcquire();
    expect(extra).toBeDefined();
    expect(h.limiter.tryAcquire()).toBeUndefined();
    h.ask(2); // waits
    extra!.release(); // the waiter gets it, not a copy
    expect(h.granted).toEqual([1, 2]);
    expect(h.limiter.tryAcquire()).toBeUndefined();
  });
});

describe('AdaptiveLimit (Envoy gradient controller, smoothed)', () => {
  function run(latencyAt: (inflight: number) => number, seconds: number, every = 1000) {
    let now = 0;
    const limit = new AdaptiveLimit(
      { initial: 20, min: 3, max: 1000 },
      () => now,
      () => 0.5,
    );
    const seen: number[] = [];
    // a saturated caller: always `limit` calls in flight, each taking latencyAt(limit)
    for (let t = 0; t < seconds * 1000; t += 10) {
      now = t;
      const inflight = limit.limit;
      const rtt = latencyAt(inflight);
      for (let i = 0; i < Math.max(1, Math.round((inflight * 10) / rtt)); i++) limit.sample(rtt, now - rtt);
      if (t % every === 0) seen.push(limit.limit);
    }
    return seen;
  }

  it('measures the floor with `min` in flight, then settles where latency is a little above it', () => {
    const knee = (inflight: number) => 20 * (1 + Math.max(0, inflight - 16) / 4);
    const seen = run(knee, 30);
    expect(seen[0]).toBe(3);
    const settled = seen.slice(5);
    for (const l of settled) {
      expect(l).toBeGreaterThanOrEqual(14);
      expect(l).toBeLessThanOrEqual(24);
    }
  });

  it('grows while latency does not rise, up to max', () => {
    const flat = () => 20;
    const seen = run(flat, 20);
    expect(seen.at(-1)).toBe(1000);
  });

  it('measures the floor again after a minute, and comes back to where it was', () => {
    const knee = (inflight: number) => 20 * (1 + Math.max(0, inflight - 16) / 4);
    const seen = run(knee, 130, 10); // a limit every 10 ms
    const minute = seen.slice(5_000, 7_000); // 50..70 s: the re-measure falls in 54..66 s (jitter)
    expect(Math.min(...minute)).toBe(3);
    expect(seen.at(-1)).toBeGreaterThanOrEqual(14);
    expect(seen.at(-1)).toBeLessThanOrEqual(24);
  });
});
