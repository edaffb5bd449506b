import { describe, expect, it } from 'vitest';
import { withoutStackTrace } from '../../libs/mesh-client/src/errors/without-stack-trace.js';

describe('withoutStackTrace', () => {
  it('makes errors without a stack inside and restores the limit after, also when fn throws', () => {
    const before = Error.stackTraceLimit;
    const inside = withoutStackTrace(() => new Error('fast'));
    expect(inside.stack).toBe('Error: fast');
    expect(Error.stackTraceLimit).toBe(before);
    expect(() =>
      withoutStackTrace(() => {
        throw new Error('boom');
      }),
    ).toThrow('boom');
    expect(Error.stackTraceLimit).toBe(before);
    expect(new Error('slow').stack!.split('\n').length).toBeGreaterThan(1);
  });
});
