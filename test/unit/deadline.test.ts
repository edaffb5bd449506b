import { describe, expect, it } from 'vitest';
import { callOptionsProblem } from '../../libs/mesh-client/src/options/call-options.js';
import { resolveDeadline } from '../../libs/mesh-client/src/resilience/deadline.js';

describe('resolveDeadline', () => {
  const now = 1_000_000;

  it('uses the client timeout by default and a method timeout over it', () => {
    expect(resolveDeadline(now, { clientTimeoutMs: 30_000 })).toBe(now + 30_000);
    expect(resolveDeadline(now, { clientTimeoutMs: 30_000, methodTimeoutMs: 500 })).toBe(now + 500);
  });

  it("lets the call's timeout or deadline replace both, the earlier of the two winning", () => {
    expect(resolveDeadline(now, { clientTimeoutMs: 100, methodTimeoutMs: 200, callTimeoutMs: 5000 })).toBe(now + 5000);
    expect(resolveDeadline(now, { clientTimeoutMs: 100, callDeadline: new Date(now + 9000) })).toBe(now + 9000);
    expect(resolveDeadline(now, { clientTimeoutMs: 100, callTimeoutMs: 50, callDeadline: new Date(now + 9000) })).toBe(now + 50);
  });

  it('an inherited deadline only shortens', () => {
    expect(resolveDeadline(now, { clientTimeoutMs: 1000, inheritedDeadline: new Date(now + 300) })).toBe(now + 300);
    expect(resolveDeadline(now, { clientTimeoutMs: 1000, inheritedDeadline: new Date(now + 3000) })).toBe(now + 1000);
  });

  it('names bad per-call deadline options', () => {
    expect(callOptionsProblem({ timeoutMs: 0 })).toMatch(/timeoutMs must be a number > 0 and <= 2147483647, got 0/);
    expect(callOptionsProblem({ timeoutMs: Infinity })).toMatch(/timeoutMs/);
    expect(callOptionsProblem({ timeoutMs: 2 ** 31 })).toMatch(/timeoutMs must be a number > 0 and <= 2147483647, got 2147483648/);
    expect(callOptionsProblem({ deadline: new Date('nope') })).toMatch(/deadline must be a valid Date/);
    expect(callOptionsProblem({ timeoutMs: 10, deadline: new Date() })).toBeUndefined();
  });
});
