import { inspect } from 'node:util';
import {
  Metadata,
  Server,
  ServerCredentials,
  loadPackageDefinition,
  status,
  type ServerUnaryCall,
  type ServiceDefinition,
  type sendUnaryData,
} from '@grpc/grpc-js';
import type { TestingModule } from '@nestjs/testing';
import { register } from 'prom-client';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoggingPlugin, MeshClientRegistry, MeshContext, TokenPlugin, isMeshClientError, type MeshClientError } from '@datapunk/mesh-client';
import { everythingOf } from '../support/errors.js';
import { LogCapture } from '../support/log-capture.js';
import { ECHO_PROTO, loadServerProto } from '../support/protos.js';
import { createTestApp, echoClient } from '../support/test-app.js';

// Found by two hostile runs at a1ad687: a server that quotes the credentials it was sent in its
// status details or trailers put them in the MeshClientError's message and details, in
// `inspect(error)` (its trailers and cause) and in LoggingPlugin's line.
const PLUGIN_TOKEN = 'plugin-issued-t0ken-1234567890';
const CALLER_KEY = 'caller-api-key-0987654321';
/** A binary credential that is no UTF-8 text (sent under a '-bin' key). */
const RAW_TOKEN = Buffer.from([0xff, 0xfe, 0x80, 0x81, 0xc0, 0xc1, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0x90]);
/** Bytes that are no UTF-8 text (a binary trailer is kept byte for byte unless it holds a credential). */
const RAW_BYTES = Buffer.from([0xde, 0xad, 0xbe, 0xef, 0xff]);

/** Fails every call PERMISSION_DENIED, quoting what it was sent in its details and in three trailers. */
function startQuotingServer(): Promise<{ server: Server; target: string }> {
  const server = new Server();
  const pkg = loadPackageDefinition(loadServerProto(ECHO_PROTO)) as unknown as { mesh: { test: { Echo: { service: ServiceDefinition } } } };
  const refuse = (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>): void => {
    const sent = `${String(call.metadata.get('authorization')[0])} ${String(call.metadata.get('x-api-key')[0])}`;
    const trailers = new Metadata();
    trailers.set('x-echo', sent);
    trailers.set('x-echo-bin', Buffer.from(sent));
    trailers.add('x-echo-bin', RAW_BYTES);
    trailers.set('x-unrelated', 'kept as it was');
    for (const raw of call.metadata.get('x-session-token-bin')) trailers.add('x-echo-raw-bin', Buffer.concat([Buffer.from([1, 2]), raw as Buffer]));
    trailers.add('x-echo-raw-bin', RAW_BYTES);
    cb({ code: status.PERMISSION_DENIED, details: `credentials refused: ${sent}`, metadata: trailers });
  };
  server.addService(pkg.mesh.test.Echo.service, { Unary: refuse, ServerStream: refuse, ClientStream: refuse, Bidi: refuse });
  return new Promise((resolve, reject) =>
    server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (e, port) =>
      e ? reject(e) : resolve({ server, target: `127.0.0.1:${String(port)}` }),
    ),
  );
}

describe('a server that echoes the credentials it was sent', () => {
  let server: Server;
  let app: TestingModule;
  let logs: LogCapture;

  beforeAll(async () => {
    register.clear();
    logs = LogCapture.install();
    const quoting = await startQuotingServer();
    server = quoting.server;
    app = await createTestApp({
      clients: [
        echoClient(quoting.target, {
          retry: false,
          metadata: { 'x-api-key': CALLER_KEY },
          plugins: [new LoggingPlugin({ levels: { 'permission-denied': 'error' } }), new TokenPlugin({ source: () => PLUGIN_TOKEN })],
        }),
      ],
    });
  });
  afterAll(async () => {
    await app.close();
    server.forceShutdown();
    register.clear();
    LogCapture.uninstall();
  });

  it('has them masked in the error (message, details, trailers, cause) and in the log line; the rest stays byte for byte', async () => {
    const echo = app.get(MeshClientRegistry).get('echo');
    const error = (await app
      .get(MeshContext)
      .run({ token: 'caller-context-t0ken-777' }, () => lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-session-token-bin': RAW_TOKEN } })))
      .catch((e: unknown) => e)) as MeshClientError;
    expect(isMeshClientError(error)).toBe(true);
    expect(error.category).toBe('permission-denied');
    expect(error.details).toBe('credentials refused: [token] [token]');
    expect(error.trailers?.get('x-echo')).toEqual(['[token] [token]']);
    // a binary value holding one is dropped whole (masking bytes would break what they encode)
    expect(error.trailers?.get('x-echo-bin')).toEqual([RAW_BYTES]);
    expect(error.trailers?.get('x-unrelated')).toEqual(['kept as it was']);
    // a binary credential echoed as it was sent, bytes that are no UTF-8 (before: matched only as text, and kept)
    expect(error.trailers?.get('x-echo-raw-bin')).toEqual([RAW_BYTES]);
    const seen = `${everythingOf(error)}\n${inspect(error, { depth: Infinity })}\n${logs.lines.join('\n')}`;
    expect(seen).toContain('credentials refused: [token] [token]');
    expect(seen).not.toContain(PLUGIN_TOKEN);
    expect(seen).not.toContain(CALLER_KEY);
    expect(inspect(error.trailers, { depth: Infinity, maxArrayLength: Infinity })).not.toContain(inspect(RAW_TOKEN).slice(8, -1));
  });
});
