import { fileURLToPath } from 'node:url';
import { loadSync, type PackageDefinition } from '@grpc/proto-loader';

/** Absolute path of the test proto. */
export const ECHO_PROTO = fileURLToPath(new URL('./protos/echo.proto', import.meta.url));

/** Absolute path of the Nest-sample-shaped hero proto (its ts-proto types: test/support/generated). */
export const HERO_PROTO = fileURLToPath(new URL('./protos/hero.proto', import.meta.url));

/** The `proto` option of a client of the test Echo service. */
export const echoProto = { path: ECHO_PROTO, package: 'mesh.test', service: 'Echo' } as const;

/**
 * Loads protos the way the test servers read them: proto field names (snake_case), as a server
 * written in another style would. Clients use the library's own loading (camelCase).
 */
export function loadServerProto(paths: string | string[], includeDirs?: string[]): PackageDefinition {
  return loadSync(paths, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true, includeDirs });
}

/** Request and reply shapes of the Echo service as clients write them (camelCase field names). */
export interface EchoRequest {
  message?: string;
  count?: number;
  payload?: Buffer;
  replyBytes?: number;
}
/** The request as the test server reads it (proto field names). */
export interface ServerEchoRequest {
  message?: string;
  count?: number;
  payload?: Buffer;
  reply_bytes?: number;
}
export interface EchoReply {
  message: string;
  index: number;
  payload: Buffer;
  received: number;
}
