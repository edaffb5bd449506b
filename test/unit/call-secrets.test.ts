import { describe, expect, it } from 'vitest';
import { noteMetadata, noteSecret, notedMetadata, notedSecrets, shareSecrets } from '../../libs/mesh-client/src/errors/call-secrets.js';

/** A MeshCall as the library makes them: copies of one call share its `progress`. */
const callOf = (progress: object): object => ({ progress });

describe('the secrets a call keeps beyond its caller token', () => {
  it('copies of one call (the same progress) share them', () => {
    const progress = {};
    noteSecret(callOf(progress), 'token-one-0123456789');
    noteMetadata(callOf(progress), { any: 'metadata' });
    expect(notedSecrets(callOf(progress))).toEqual(['token-one-0123456789']);
    expect(notedMetadata(callOf(progress))).toHaveLength(1);
  });

  it("a MeshCall a plugin built itself, handed on, shares its call's", () => {
    const call = callOf({});
    const own = { method: {} };
    shareSecrets(own, call);
    noteSecret(own, 'token-two-0123456789');
    expect(notedSecrets(call)).toEqual(['token-two-0123456789']);
  });

  it("another live call's MeshCall handed on keeps that call's secrets where they were (not hidden behind this call's)", () => {
    const other = callOf({});
    noteSecret(other, 'other-call-token-0123456789');
    const call = callOf({});
    shareSecrets(other, call);
    expect(notedSecrets(other)).toEqual(['other-call-token-0123456789']);
    expect(notedSecrets(call)).toEqual([]);
  });

  it('a hostile MeshCall (progress that throws, or is new at each read) is keyed by itself, and noting never throws', () => {
    const throwing = new Proxy(
      {},
      {
        get: () => {
          throw new Error('no');
        },
      },
    );
    expect(() => noteSecret(throwing, 'token-three-0123456789')).not.toThrow();
    const fresh = new Proxy({}, { get: (_t, key) => (key === 'progress' ? {} : undefined) });
    const call = callOf({});
    shareSecrets(fresh, call);
    noteSecret(fresh, 'token-four-0123456789');
    expect(notedSecrets(call)).toEqual(['token-four-0123456789']);
  });
});
