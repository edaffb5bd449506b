import Module from 'node:module';
import { Test } from '@nestjs/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientModule, MeshClientRegistry, MeshConfigError } from '@datapunk/mesh-client';
import { echoProto } from '../support/protos.js';

type Resolve = (request: string, ...rest: unknown[]) => string;
const loader = Module as unknown as { _resolveFilename: Resolve };

/**
 * Node's module resolution is made to find no @grpc/grpc-js-xds (as on an install without the
 * optional peer). This file runs in its own process, so nothing has loaded the package before.
 */
describe('an xds target without @grpc/grpc-js-xds installed', () => {
  const original = loader._resolveFilename;
  beforeAll(() => {
    loader._resolveFilename = function (this: unknown, request: string, ...rest: unknown[]): string {
      if (request === '@grpc/grpc-js-xds' || request.startsWith('@grpc/grpc-js-xds/')) {
        throw Object.assign(new Error(`Cannot find module '${request}'`), { code: 'MODULE_NOT_FOUND' });
      }
      return original.call(this, request, ...rest);
    };
  });
  afterAll(() => {
    loader._resolveFilename = original;
  });

  it('fails start with a MeshConfigError that names the package and how to install it', async () => {
    const bootstrap = { xds_servers: [{ server_uri: '127.0.0.1:1', channel_creds: [{ type: 'insecure' }] }], node: { id: 'x' } };
    const options = { clients: [{ name: 'inventory', target: 'xds:///inventory', proto: echoProto, insecure: true, xds: { bootstrap } }] };
    const error = await Test.createTestingModule({ imports: [MeshClientModule.forRoot(options)] })
      .compile()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(MeshConfigError);
    expect((error as Error).message).toBe(
      "clients[0].target 'xds:///inventory' is an xDS target: the optional package @grpc/grpc-js-xds is not installed (npm install @grpc/grpc-js-xds@~1.14); it is needed for xds:/// targets (client 'inventory')",
    );
  });

  it('clients with other targets start as usual', async () => {
    const options = { clients: [{ name: 'inventory', target: '127.0.0.1:50051', proto: echoProto, insecure: true }] };
    const moduleRef = await Test.createTestingModule({ imports: [MeshClientModule.forRoot(options)] }).compile();
    await moduleRef.init();
    expect(moduleRef.get(MeshClientRegistry).get('inventory').name).toBe('inventory');
    await moduleRef.close();
  });
});
