import { describe, expect, it } from 'vitest';
import { Spreads, isSpreadLookup } from '../../libs/mesh-client/src/client/channels/spreads.js';

describe('Spreads (the hedged calls of one client, for their copies to go to distinct endpoints)', () => {
  it('a spread is found by its token while open and not after it is closed', () => {
    const spreads = new Spreads();
    const a = spreads.spread();
    const b = spreads.spread();
    expect(a.token).not.toBe(b.token);
    expect(spreads.get(a.token)).toBe(a);
    expect(spreads.size).toBe(2);
    a.close();
    expect(spreads.get(a.token)).toBeUndefined();
    expect(spreads.get(b.token)).toBe(b);
    expect(spreads.size).toBe(1);
  });

  it("a token made by another client's spreads, or guessed, matches nothing", () => {
    const mine = new Spreads();
    const theirs = new Spreads().spread();
    mine.spread();
    expect(mine.get(theirs.token)).toBeUndefined();
    // the tag is random per object: the same sequence number under another tag is not a match
    expect(mine.get(theirs.token.replace(/\.[^.]*$/, '.0'))).toBeUndefined();
    expect(mine.get('0')).toBeUndefined();
  });

  it('a picker accepts any object with a get() as the client spreads (another copy of the library)', () => {
    expect(isSpreadLookup(new Spreads())).toBe(true);
    expect(isSpreadLookup({ get: () => undefined })).toBe(true);
    expect(isSpreadLookup('datapunk')).toBe(false);
    expect(isSpreadLookup(undefined)).toBe(false);
  });
});
