import { Test } from '@nestjs/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MeshClientModule, MeshConfigError, type MeshModuleOptions } from '@datapunk/mesh-client';
import { echoProto } from '../support/protos.js';

/** Values of every shape, biased towards the ones option validation must reject. */
const junk = fc.oneof(
  fc.anything({ maxDepth: 2 }),
  fc.constantFrom(0, -1, Number.NaN, Infinity, 2 ** 40, '', ' ', 'x', null, [], {}, true),
  fc.integer({ min: -10, max: 100_000 }),
);

/** A client entry: mostly valid fields, any of which may be replaced by junk. */
const client = fc.record(
  {
    name: fc.oneof(fc.constantFrom('inventory', 'billing'), junk),
    target: fc.oneof(fc.constantFrom('127.0.0.1:50051', 'dns:///svc:443', 'ipv4:127.0.0.1:1,127.0.0.1:2'), junk),
    proto: fc.oneof(fc.constant(echoProto), junk),
    insecure: fc.oneof(fc.constant(true), junk),
    timeoutMs: junk,
    maxMessageBytes: junk,
    retry: fc.oneof(
      fc.constant(false),
      fc.record({ maxAttempts: junk, jitter: junk, retryableCodes: junk, budget: junk }, { requiredKeys: [] }),
      junk,
    ),
    breaker: fc.oneof(fc.constant(false), fc.record({ minimumCalls: junk, failureRateThreshold: junk, scope: junk }, { requiredKeys: [] }), junk),
    methods: fc.oneof(fc.constant({ Unary: { timeoutMs: 10 } }), fc.dictionary(fc.string(), junk, { maxKeys: 2 }), junk),
    pool: junk,
    loadBalancing: junk,
    outlierDetection: junk,
    keepalive: junk,
    compression: junk,
    metadata: fc.oneof(fc.dictionary(fc.string(), fc.string(), { maxKeys: 3 }), junk),
    tls: junk,
  },
  { requiredKeys: ['name', 'target', 'proto', 'insecure'] },
);

const options = fc.record(
  { clients: fc.oneof(fc.array(client, { maxLength: 3 }), junk), defaults: fc.oneof(fc.constant({ timeoutMs: 1000 }), junk), requireMtls: junk },
  { requiredKeys: ['clients'] },
);

describe('property: arbitrary options', () => {
  it('module start either succeeds or fails with MeshConfigError, never another error, never a hang', async () => {
    await fc.assert(
      fc.asyncProperty(options, async (opts) => {
        const started = performance.now();
        const outcome = await Test.createTestingModule({ imports: [MeshClientModule.forRoot(opts as MeshModuleOptions)] })
          .compile()
          .then(
            async (m) => {
              await m.close();
              return 'started';
            },
            (e: unknown) => e,
          );
        if (outcome !== 'started') {
          expect(outcome).toBeInstanceOf(MeshConfigError);
          expect((outcome as Error).message.length).toBeGreaterThan(10);
        }
        expect(performance.now() - started).toBeLessThan(5000);
      }),
      { numRuns: 1000 },
    );
  });
});
