import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Transport } from '@nestjs/microservices';
import { Test } from '@nestjs/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { MeshClientModule, isMeshConfigError } from '@datapunk/mesh-client';
import { ECHO_PROTO, HERO_PROTO } from '../support/protos.js';
import { everythingOf } from '../support/errors.js';
import { echoClient, moduleStartError } from '../support/test-app.js';

// Issue #30 "values and secrets", at start: on da6cde0 retryableCodes: ['OK'] was accepted, a
// target 'dns://admin:p4ssw0rd@host' was quoted whole in the MeshConfigError (also through
// fromClientsModule's url), a proto.path pointing at a secrets file quoted its first token, and a
// 5,000-service proto without `service` gave a 54 KB error.
const dir = mkdtempSync(join(tmpdir(), 'mesh-call-core-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('codes that are no failure are refused at start', () => {
  it.each([
    ["retryableCodes: ['OK']", { retry: { retryableCodes: ['OK'] } }],
    ['retryableCodes: [0]', { retry: { retryableCodes: [0] } }],
    ['hedging nonFatalCodes: [0]', { methods: { Unary: { idempotent: true, hedging: { maxAttempts: 2, delayMs: 10, nonFatalCodes: [0] } } } }],
    ["hedging nonFatalCodes: ['OK']", { methods: { Unary: { idempotent: true, hedging: { maxAttempts: 2, delayMs: 10, nonFatalCodes: ['OK'] } } } }],
  ])('%s: MeshConfigError', async (_what, options) => {
    const error = await moduleStartError({ clients: [echoClient('127.0.0.1:1', options as never)] });
    expect(isMeshConfigError(error)).toBe(true);
    expect((error as Error).message).toMatch(/OK|\b0\b/);
  });
});

describe('a target holding user credentials', () => {
  const target = 'dns://admin:p4ssw0rd@host:443';

  it('is refused at start, and the password appears nowhere in the error', async () => {
    const error = await moduleStartError({ clients: [echoClient(target)] });
    expect(isMeshConfigError(error)).toBe(true);
    expect((error as Error).message).toContain('target');
    expect(everythingOf(error)).not.toContain('p4ssw0rd');
  });

  it("also as fromClientsModule's url", async () => {
    const error = await Test.createTestingModule({
      imports: [
        MeshClientModule.fromClientsModule([
          { name: 'HERO', transport: Transport.GRPC, options: { url: target, package: 'hero', protoPath: HERO_PROTO } },
        ]),
      ],
    })
      .compile()
      .then(
        async (m) => {
          await m.close();
          return undefined;
        },
        (e: unknown) => e,
      );
    expect(isMeshConfigError(error)).toBe(true);
    expect(everythingOf(error)).not.toContain('p4ssw0rd');
  });
});

describe('proto files', () => {
  it('a proto.path pointing at a file of secrets fails start with a message that quotes none of it', async () => {
    const secrets = join(dir, 'secrets.env');
    writeFileSync(secrets, 'sk_live_FAKE5ecr3tT0ken9f8e7d6c=1\nDB_PASSWORD=hunter2-FAKE-pw\n');
    const error = await moduleStartError({
      clients: [echoClient('127.0.0.1:1', { proto: { path: secrets, package: 'mesh.test', service: 'Echo' } })],
    });
    expect(isMeshConfigError(error)).toBe(true);
    const shown = everythingOf(error);
    for (const secret of ['sk_live', '5ecr3t', 'T0ken', 'hunter2', 'DB_PASSWORD']) expect(shown).not.toContain(secret);
  });

  it('a proto of 5,000 services and no service option: an error under 2 KB naming a few of them and the count', async () => {
    const path = join(dir, 'many.proto');
    const services = Array.from({ length: 5000 }, (_, i) => `service Svc${String(i)} { rpc Call (Msg) returns (Msg); }`);
    writeFileSync(path, ['syntax = "proto3";', 'package many;', 'message Msg { string text = 1; }', ...services].join('\n'));
    const error = await moduleStartError({ clients: [echoClient('127.0.0.1:1', { proto: { path, package: 'many' } })] });
    expect(isMeshConfigError(error)).toBe(true);
    const message = (error as Error).message;
    console.log(`5,000 services: the error has ${String(message.length)} characters: ${message.slice(0, 300)}`);
    expect(message.length).toBeLessThan(2048);
    expect(message).toMatch(/Svc0\b/);
    expect(message).toMatch(/5,?000/);
  });

  it('(control) the same option shapes with a good proto start', async () => {
    expect(
      await moduleStartError({ clients: [echoClient('127.0.0.1:1', { proto: { path: ECHO_PROTO, package: 'mesh.test', service: 'Echo' } })] }),
    ).toBeUndefined();
  });
});
