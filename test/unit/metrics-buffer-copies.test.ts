import { describe, expect, it, vi } from 'vitest';
import * as first from '../../libs/mesh-client/src/observability/metrics-buffer.js';

describe('metrics buffers: a series shared by two copies of the library', () => {
  it("one copy's collect hook finds the buffers the other copy attached (before: each copy kept its own list, so a shared counter never moved the second copy's counts in)", async () => {
    // the same source loaded as a second module instance, as a second copy of the package would be
    vi.resetModules();
    const second = (await import('../../libs/mesh-client/src/observability/metrics-buffer.js')) as typeof first;
    expect(second.buffersOf).not.toBe(first.buffersOf);
    const metric = {};
    const ofSecond = new second.MeshMetricsBuffer();
    const ofFirst = new first.MeshMetricsBuffer();
    second.attachBuffer(metric, ofSecond);
    first.attachBuffer(metric, ofFirst);
    expect([...first.buffersOf(metric)]).toEqual([ofSecond, ofFirst]);
    expect([...second.buffersOf(metric)]).toEqual([ofSecond, ofFirst]);
    first.detachBuffer(metric, ofSecond);
    expect([...second.buffersOf(metric)]).toEqual([ofFirst]);
  });
});
