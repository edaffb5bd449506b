import { inspect } from 'node:util';
import { Metadata } from '@grpc/grpc-js';
import type { TestingModule } from '@nestjs/testing';
import { lastValueFrom, throwError } from 'rxjs';
import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  LoggingPlugin,
  MeshAttemptFault,
  MeshClientRegistry,
  MeshContext,
  TokenPlugin,
  isMeshClientError,
  isMeshConfigError,
  type MeshAttempt,
  type MeshClientOptions,
  type MeshClientPlugin,
} from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { everythingOf } from '../support/errors.js';
import { LogCapture } from '../support/log-capture.js';
import { createTestApp, echoClient, moduleStartError } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

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

/** An app with one client per entry of `clients` (LoggingPlugin first), its server and the captured log, for one describe block. */
function useLoggedClients(clients: Record<string, Partial<MeshClientOptions>>): {
  app: () => TestingModule;
  logs: () => LogCapture;
  target: () => string;
} {
  let server: EchoServer;
  let app: TestingModule;
  let logs: LogCapture;
  beforeAll(async () => {
    register.clear();
    logs = LogCapture.install();
    server = await startEchoServer();
    app = await createTestApp({
      clients: Object.entries(clients).map(([name, options]) =>
        echoClient(server.target, {
          name,
          retry: false,
          ...options,
          plugins: [new LoggingPlugin({ levels: { internal: 'error' } }), ...(options.plugins ?? [])],
        }),
      ),
    });
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
    register.clear();
    LogCapture.uninstall();
  });
  return { app: () => app, logs: () => logs, target: () => server.target };
}

describe('a metadata value grpc-js refuses is never quoted back (it is often a token)', () => {
  const { app, logs } = useLoggedClients(Object.fromEntries(Object.entries(PLUGINS).map(([name, plugin]) => [name, { plugins: [plugin] }])));

  it.each(Object.keys(PLUGINS))('%s: the call fails naming the plugin, and the value is in no message, stack, cause or log line', async (name) => {
    const error = await lastValueFrom(app().get(MeshClientRegistry).get(name).unary('Unary', {})).catch((e: unknown) => e);
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain(`plugin '${name}' failed in`);
    expect((error as Error).message).toContain('Metadata string value (not shown: it may be a secret) contains illegal characters');
    expect(everythingOf(error)).not.toContain(SECRET);
    const lines = logs().lines.filter((l) => l.includes(`plugin '${name}'`));
    expect(lines).toHaveLength(1); // LoggingPlugin's line for the failed call
    expect(logs().lines.join('\n')).not.toContain(SECRET);
  });
});

const NEW_SECRET = 'eyJhbGciOiJIUzI1NiJ9.r0tated-t0ken';
const PLUGIN_TOKEN = 'plugin-issued-t0ken-1234567890';
const tokenOf = (a: MeshAttempt): string => String(a.call.context?.token);
/** The app's MeshContext, for the plugins reading or changing the ambient context. */
let contextRef: MeshContext | undefined;
const ambientToken = (): string | undefined => contextRef?.get()?.token;
const setToken = (token: string): void => contextRef?.set({ token });

/** A plugin whose beforeAttempt throws what `make` gives (from attempt `from` on). */
const refusing = (make: (a: MeshAttempt) => unknown, from = 1): MeshClientPlugin => ({
  name: 'refuser',
  beforeAttempt: (a) => {
    if (a.attempt >= from) throw make(a);
  },
});

const TOKEN_PLUGIN_QUOTED: Partial<MeshClientOptions> = {
  plugins: [
    new TokenPlugin({ source: () => PLUGIN_TOKEN }),
    refusing((a) => new Error(`upstream refused header ${String(a.metadata.get('authorization')[0])}`)),
  ],
};
const LATE_HEADERS: Partial<MeshClientOptions> = {
  plugins: [{ name: 'hdr', onHeaders: (a) => Promise.reject(new Error(`headers refused for token ${tokenOf(a)}`)) as unknown as void }],
};

/* User code the call runs is given the caller's context and may quote its token when it refuses it. */
const QUOTING: Record<string, Partial<MeshClientOptions>> = {
  'metadata-function': {
    metadata: async (ctx) => {
      await Promise.resolve();
      throw new Error(`token ${String(ctx?.token)} is not valid for this audience`, { cause: new Error(`inner: ${String(ctx?.token)}`) });
    },
  },
  'before-attempt': {
    plugins: [
      {
        name: 'refuser',
        beforeAttempt: (a: MeshAttempt) => {
          throw new Error(`refusing token ${String(a.call.context?.token)}`);
        },
      },
    ],
  },
  intercept: {
    plugins: [{ name: 'refuser', intercept: (call) => throwError(() => new Error(`no entry for ${String(call.context?.token)}`)) }],
  },
  // the documented way for a hook to fail an attempt: its details are the plugin's text
  fault: { plugins: [refusing((a) => new MeshAttemptFault(16, `token ${tokenOf(a)} was revoked`))] },
  // a token set() while the call ran (the request refreshed it), quoted by a plugin reading the ambient context
  'set-mid-call': {
    retry: { maxAttempts: 2, initialBackoffMs: 5, maxBackoffMs: 5 },
    plugins: [
      { name: 'ambient', beforeAttempt: (a) => void (a.attempt > 1 && a.call.context && setToken(NEW_SECRET)) },
      refusing(() => new Error(`refusing ${String(ambientToken())}`), 2),
    ],
  },
};

/* User code that throws something holding the token in a field, with a clean message. */
const HOLDING: Record<string, Partial<MeshClientOptions>> = {
  // an HTTP client's error (axios, got, undici) keeps the request, its headers included
  'http-error': {
    plugins: [
      refusing((a) =>
        Object.assign(new Error('Request failed with status code 401'), { config: { headers: { Authorization: `Bearer ${tokenOf(a)}` } } }),
      ),
    ],
  },
  'object-thrown': { plugins: [refusing((a) => ({ reason: 'rejected', token: tokenOf(a) }))] },
};

describe("the caller's token, quoted by user code the call ran, is masked in the error and the log", () => {
  const { app, logs, target } = useLoggedClients({ ...QUOTING, ...HOLDING, 'token-plugin': TOKEN_PLUGIN_QUOTED, 'late-headers': LATE_HEADERS });
  const failing = (name: string): Promise<unknown> => {
    const client = app().get(MeshClientRegistry).get(name);
    const context = app().get(MeshContext);
    contextRef = context;
    const metadata = { 'x-test-status': name === 'set-mid-call' ? '14' : '0' };
    return context.run({ token: SECRET }, () => lastValueFrom(client.unary('Unary', {}, { metadata })).catch((e: unknown) => e));
  };
  const everywhere = (error: unknown): string => `${everythingOf(error)}\n${inspect(error, { depth: Infinity })}\n${logs().lines.join('\n')}`;

  it.each(Object.keys(QUOTING))('%s: [token] in the message, the token in no message, stack, cause or log line', async (name) => {
    const error = await failing(name);
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain('[token]');
    expect(everywhere(error)).not.toContain(SECRET);
    expect(everywhere(error)).not.toContain(NEW_SECRET);
  });

  it.each(Object.keys(HOLDING))('%s: the token in a field of what was thrown reaches no inspect() of the error, cause included', async (name) => {
    const error = await failing(name);
    expect(isMeshClientError(error)).toBe(true);
    expect(everywhere(error)).not.toContain(SECRET);
  });

  it("TokenPlugin's token, quoted by another plugin refused with it, is masked too", async () => {
    const error = await failing('token-plugin');
    expect((error as Error).message).toContain('upstream refused header Bearer [token]');
    expect(everywhere(error)).not.toContain(PLUGIN_TOKEN);
  });

  it('an onHeaders whose promise rejects quoting the token: the warning masks it', async () => {
    expect(await failing('late-headers')).toMatchObject({ message: '' });
    expect(await eventually(() => logs().lines.some((l) => l.includes('failed in onHeaders')), 2000)).toBe(true);
    expect(logs().lines.find((l) => l.includes('failed in onHeaders'))).toContain('headers refused for token [token]');
    expect(logs().lines.join('\n')).not.toContain(SECRET);
  });

  it('a secret given where the metadata object belongs (metadata: process.env.API_KEY) is described, not quoted', async () => {
    const error = await moduleStartError({ clients: [echoClient(target(), { metadata: `Bearer ${SECRET}` as never })] });
    expect(isMeshConfigError(error)).toBe(true);
    expect((error as Error).message).toBe(
      "clients[0].metadata must be an object of entries or a function of the context, got a string (client 'echo')",
    );
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
