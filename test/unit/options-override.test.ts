import { Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { MeshClientModule, type MeshModuleOptions } from '@datapunk/mesh-client';
import { MESH_OPTIONS_OVERRIDE } from '../../libs/mesh-client/src/module/mesh-client.tokens.js';
import { echoProto } from '../support/protos.js';

const options = (): MeshModuleOptions => ({ clients: [{ name: 'echo', target: '127.0.0.1:1', proto: echoProto, insecure: true }] });

/** A global module providing the override, as the testing kit's MeshTestingModule does. */
function overriding(override: (raw: unknown) => unknown) {
  @Module({ providers: [{ provide: MESH_OPTIONS_OVERRIDE, useValue: override }], exports: [MESH_OPTIONS_OVERRIDE] })
  class OverrideModule {}
  return { module: OverrideModule, global: true };
}

const startError = (imports: unknown[]): Promise<unknown> =>
  Test.createTestingModule({ imports: imports as [] })
    .compile()
    .then(
      async (m) => {
        await m.close();
        return undefined;
      },
      (e: unknown) => e,
    );

describe("the module's options override (MESH_OPTIONS_OVERRIDE, the testing kit's hook)", () => {
  it('is optional: without it the options are used as given', async () => {
    expect(await startError([MeshClientModule.forRoot(options())])).toBeUndefined();
  });

  it('rewrites the raw options before they are validated, given the options object the app passed', async () => {
    const given = options();
    const seen: unknown[] = [];
    const error = await startError([
      MeshClientModule.forRoot(given),
      overriding((raw) => {
        seen.push(raw);
        return { ...(raw as MeshModuleOptions), clients: [{ ...(raw as MeshModuleOptions).clients[0]!, target: 'no-port' }] };
      }),
    ]);
    expect(seen).toEqual([given]);
    expect((error as Error).message).toMatch(/^clients\[0\]\.target .*\(client 'echo'\)$/);
  });

  it('applies to forRootAsync options too', async () => {
    const seen: unknown[] = [];
    const error = await startError([
      MeshClientModule.forRootAsync({ clientNames: ['echo'], useFactory: options }),
      overriding((raw) => (seen.push(raw), raw)),
    ]);
    expect(error).toBeUndefined();
    expect(seen).toEqual([options()]);
  });
});
