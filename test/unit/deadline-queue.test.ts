import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { DeadlineQueue, type Due } from '../../libs/mesh-client/src/client/call/deadline-queue.js';

/** An entry that notes when it expired (fake ms since the test began). */
function entry(name: string, log: string[], onExpire?: () => void): Due {
  return {
    due: 0,
    earlier: undefined,
    later: undefined,
    queued: false,
    expire: () => {
      log.push(`${name}@${String(Date.now() - start)}`);
      onExpire?.();
    },
  };
}

let start = 0;

describe('DeadlineQueue', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    start = Date.now();
  });
  afterEach(() => vi.useRealTimers());

  function harness() {
    const log: string[] = [];
    const errors: unknown[] = [];
    let idle = 0;
    const queue = new DeadlineQueue(
      () => idle++,
      (e) => errors.push(e),
    );
    return { log, errors, queue, idle: () => idle };
  }

  it('expires each entry at its own time, earliest first, whatever order they came in', () => {
    const h = harness();
    h.queue.add(entry('a', h.log), 300);
    h.queue.add(entry('b', h.log), 100);
    h.queue.add(entry('c', h.log), 200);
    h.queue.add(entry('d', h.log), 300);
    vi.advanceTimersByTime(99);
    expect(h.log).toEqual([]);
    vi.advanceTimersByTime(1000);
    expect(h.log).toEqual(['b@100', 'c@200', 'a@300', 'd@300']);
    expect(h.queue.size).toBe(0);
    expect(h.idle()).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
  });

  it('uses one timer for any number of entries, and none once the last left', () => {
    const h = harness();
    const entries = Array.from({ length: 50 }, (_, i) => entry(String(i), h.log));
    for (const e of entries) h.queue.add(e, 5_000);
    expect(vi.getTimerCount()).toBe(1);
    expect(h.queue.entries()).toEqual(entries);
    for (const e of entries) h.queue.remove(e);
    expect(h.queue.size).toBe(0);
    expect(h.idle()).toBe(1);
    expect(vi.getTimerCount()).toBe(0);
    vi.advanceTimersByTime(10_000);
    expect(h.log).toEqual([]);
  });

  it('never expires an entry that left; the timer armed for it finds nothing and waits for the next', () => {
    const h = harness();
    const early = entry('early', h.log);
    h.queue.add(early, 100);
    h.queue.add(entry('late', h.log), 400);
    h.queue.remove(early);
    h.queue.remove(early); // twice: no-op
    vi.advanceTimersByTime(399);
    expect(h.log).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(h.log).toEqual(['late@400']);
  });

  it('arms the timer again for an entry due before the one it waits for', () => {
    const h = harness();
    h.queue.add(entry('long', h.log), 10_000);
    vi.advanceTimersByTime(1_000);
    h.queue.add(entry('short', h.log), 50);
    vi.advanceTimersByTime(50);
    expect(h.log).toEqual(['short@1050']);
    vi.advanceTimersByTime(9_000);
    expect(h.log).toEqual(['short@1050', 'long@10000']);
  });

  it('an entry that throws while it expires is reported; the others due still expire', () => {
    const h = harness();
    const boom = new Error('boom');
    h.queue.add(
      entry('a', h.log, () => {
        throw boom;
      }),
      100,
    );
    h.queue.add(entry('b', h.log), 100);
    h.queue.add(entry('c', h.log), 200);
    vi.advanceTimersByTime(200);
    expect(h.log).toEqual(['a@100', 'b@100', 'c@200']);
    expect(h.errors).toEqual([boom]);
  });

  it('an entry queued again while it expires (a grace period) expires again later', () => {
    const h = harness();
    let again = true;
    const e: Due = entry('e', h.log, () => {
      if (again) h.queue.add(e, 20);
      again = false;
    });
    h.queue.add(e, 100);
    vi.advanceTimersByTime(100);
    expect(h.queue.size).toBe(1);
    expect(h.idle()).toBe(0);
    vi.advanceTimersByTime(20);
    expect(h.log).toEqual(['e@100', 'e@120']);
    expect(h.idle()).toBe(1);
  });

  it('an entry added again moves to its new place instead of being linked twice', () => {
    const h = harness();
    const e = entry('e', h.log);
    h.queue.add(e, 100);
    h.queue.add(entry('f', h.log), 200);
    h.queue.add(e, 300);
    expect(h.queue.size).toBe(2);
    vi.advanceTimersByTime(300);
    expect(h.log).toEqual(['f@200', 'e@300']);
  });
});
