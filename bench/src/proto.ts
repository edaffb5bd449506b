import { fileURLToPath } from 'node:url';
import { loadPackageDefinition, type ServiceDefinition } from '@grpc/grpc-js';
import { loadSync } from '@grpc/proto-loader';

/** The Echo service shared with the tests. */
export const ECHO_PROTO = fileURLToPath(new URL('../../test/support/protos/echo.proto', import.meta.url));
export const packageDefinition = loadSync(ECHO_PROTO);
export const echoService = (loadPackageDefinition(packageDefinition) as unknown as { mesh: { test: { Echo: { service: ServiceDefinition } } } }).mesh
  .test.Echo.service;

/** The benchmark request: a 100-byte payload, as TARGETS.md measures. */
export const REQUEST = { message: 'bench', payload: Buffer.alloc(100, 1) };
