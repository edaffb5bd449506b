import fc from 'fast-check';
import { lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { isMeshClientError } from '@datapunk/mesh-client';
import { STATUS_TABLE, classifyStatus } from '@datapunk/mesh-client/advanced';
import { toMeshError } from '../../libs/mesh-client/src/errors/to-mesh-error.js';
import { useEchoApp } from '../support/test-app.js';

const CATEGORIES = new Set(
  Object.values(STATUS_TABLE)
    .map((r) => r.category)
    .concat(['tls', 'circuit-open']),
);
const site = { client: 'c', service: 's.S', method: 'M', maxMessageBytes: 4 };

describe('property: error mapping is total', () => {
  it('any status number, in range or not, maps to a MeshClientError with a known category', () => {
    fc.assert(
      fc.property(fc.oneof(fc.integer(), fc.double()), fc.string(), (code, details) => {
        const cls = classifyStatus(code);
        expect(CATEGORIES.has(cls.category)).toBe(true);
        const error = toMeshError({ code, details }, site, 1);
        expect(isMeshClientError(error)).toBe(true);
        expect(CATEGORIES.has(error.category)).toBe(true);
        expect(typeof error.retryable).toBe('boolean');
      }),
      { numRuns: 2000 },
    );
  });

  it('anything thrown maps to a MeshClientError', () => {
    fc.assert(
      fc.property(fc.anything(), (thrown) => {
        expect(isMeshClientError(toMeshError(thrown, site, 0))).toBe(true);
      }),
      { numRuns: 1000 },
    );
  });
});

describe('property: arbitrary metadata', () => {
  const fx = useEchoApp({ retry: false, breaker: false });

  const key = fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.stringMatching(/^[a-z0-9_.-]{1,12}(-bin)?$/),
    fc.constantFrom('grpc-x', 'x-bin', 'Authorization', ':path', '__proto__'),
  );
  const value = fc.oneof(
    fc.string({ maxLength: 20 }),
    fc.string({ unit: 'binary', maxLength: 8 }),
    fc.uint8Array({ maxLength: 8 }).map((a) => Buffer.from(a)),
  );

  it('each entry is either sent as given or the call is refused with invalid-request before sending', async () => {
    await fc.assert(
      fc.asyncProperty(key, value, async (k, v) => {
        const before = fx.server.calls.length;
        const outcome = await lastValueFrom(fx.echo.unary('Unary', {}, { metadata: { [k]: v } })).then(
          () => 'sent' as const,
          (e: unknown) => e,
        );
        if (outcome === 'sent') {
          expect(fx.server.calls.length).toBe(before + 1);
          const seen = fx.server.metadataSeen.at(-1)!.get(k);
          expect(seen).toEqual([k.endsWith('-bin') && typeof v === 'string' ? Buffer.from(v) : v]);
        } else {
          expect(outcome).toMatchObject({ category: 'invalid-request', attempts: 0 });
          expect(fx.server.calls.length).toBe(before);
        }
      }),
      { numRuns: 1000 },
    );
  });
});
