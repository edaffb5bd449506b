import { fileURLToPath } from 'node:url';

/** Absolute path of the test proto. */
export const ECHO_PROTO = fileURLToPath(new URL('./protos/echo.proto', import.meta.url));

/** The `proto` option of a client of the test Echo service. */
export const echoProto = { path: ECHO_PROTO, package: 'mesh.test', service: 'Echo' } as const;

/** Request and reply shapes of the Echo service (as loaded with the shared loader options). */
export interface EchoRequest {
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
