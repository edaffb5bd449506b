import { Metadata } from '@grpc/grpc-js';
import type { TestingModule } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoggingPlugin, MeshClientRegistry, TokenPlugin, isMeshClientError, type MeshAttempt, type MeshClientPlugin } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { everythingOf } from '../support/errors.js';
import { LogCapture } from '../support/log-capture.js';
import { createTestApp, echoClient } from '../support/test-app.js';

const SECRET = 'eyJhbGciOiJIUzI1NiJ9.s3cr3t-t0ken';

// grpc-js refuses such a value with an error that quotes it: 'Metadata string value "<value>"
// contains illegal characters'. A token read from a file with its newline, or a scheme pasted
// with a no-break space, would have put the token in the call's error and the log line.
const PLUGINS: Record<string, MeshClientPlugin> = {
  'newline-token': { name: 'newline-token', beforeAttempt: (a) => void a.metadata.set('authorization', `Bearer ${SECRET}\n`) },
  'nbsp-key': {
    name: 'nbsp-key',
    intercept: (call, next) => {
      call.metadata.set('x-api-key', `${SECRET}\u00a0`);
      return next.handle(call);
    },
  },
};

describe('a metadata value grpc-js refuses is never quoted back (it is often a token)', () => {
  let server: EchoServer;
  let app: TestingModule;
  let logs: LogCapture;

  beforeAll(async () => {
    register.clear();
    logs = LogCapture.install();
    server = await startEchoServer();
    app = await createTestApp({
      clients: Object.entries(PLUGINS).map(([name, plugin]) =>
        echoClient(server.target, { name, retry: false, plugins: [new LoggingPlugin({ levels: { internal: 'error' } }), plugin] }),
      ),
    });
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
    register.clear();
    LogCapture.uninstall();
  });

  it.each(Object.keys(PLUGINS))('%s: the call fails naming the plugin, and the value is in no message, stack, cause or log line', async (name) => {
    const error = await lastValueFrom(app.get(MeshClientRegistry).get(name).unary('Unary', {})).catch((e: unknown) => e);
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain(`plugin '${name}' failed in`);
    expect((error as Error).message).toContain('Metadata string value (not shown: it may be a secret) contains illegal characters');
    expect(everythingOf(error)).not.toContain(SECRET);
    const lines = logs.lines.filter((l) => l.includes(`plugin '${name}'`));
    expect(lines).toHaveLength(1); // LoggingPlugin's line for the failed call
    expect(logs.lines.join('\n')).not.toContain(SECRET);
  });
});

describe("TokenPlugin's header and scheme are checked when it is made", () => {
  const make = (extra: object): TokenPlugin => new TokenPlugin({ source: () => SECRET, ...extra });

  it.each([
    [
      'a scheme with a no-break space',
      { scheme: 'Bearer\u00a0' },
      /option 'scheme': must be printable ASCII \(spaces allowed\), got "Bearer\\u00a0"/,
    ],
    ['a scheme ending in a newline', { scheme: 'Bearer\n' }, /option 'scheme': must be printable ASCII \(spaces allowed\), got "Bearer\\n"/],
    ['a header with a space', { header: 'x auth' }, /option 'header': metadata key "x auth" is invalid/],
    ['a binary header', { header: 'x-token-bin' }, /option 'header': metadata key "x-token-bin" ends in '-bin', but a token is text/],
    ['a reserved header', { header: 'grpc-timeout' }, /option 'header': metadata key "grpc-timeout" is reserved for gRPC itself/],
    ['a transport header', { header: 'TE' }, /option 'header': metadata key "TE" is an HTTP\/2 or gRPC transport header, which a call cannot set/],
    ['a header that is no string', { header: 42 }, /option 'header': a metadata key must be a string, got number/],
  ])('%s: a TypeError naming the option', (_what, extra, message) => {
    expect(() => make(extra)).toThrow(TypeError);
    expect(() => make(extra)).toThrow(message);
  });

  it.each([
    [{ header: 'Authorization' }, 'authorization', SECRET], // the default scheme goes with the exact key 'authorization', as before
    [{ header: 'X-Service-Authorization', scheme: 'Token ' }, 'x-service-authorization', `Token ${SECRET}`],
    [{ header: 'x-service-token' }, 'x-service-token', SECRET],
  ])('%o: accepted, in lower case (as metadata keys are)', async (extra, key, value) => {
    const attempt = { metadata: new Metadata(), call: { deadline: new Date(Date.now() + 5000) } } as unknown as MeshAttempt;
    await make(extra).beforeAttempt(attempt);
    expect(attempt.metadata.getMap()).toEqual({ [key]: value });
  });
});
