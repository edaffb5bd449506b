import { inspect } from 'node:util';
import { Metadata } from '@grpc/grpc-js';
import { catchError, lastValueFrom, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
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
import { everythingOf } from '../support/errors.js';
import { echoClient, moduleStartError } from '../support/test-app.js';
import { useLoggedClients } from '../support/logged-clients.js';
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
/** The authorization header the sniffer saw on its attempt, quoted by the outer plugin when the call failed. */
let sniffed = '';
const TOKEN_PLUGIN_UNDER_A_COPY: Partial<MeshClientOptions> = {
  plugins: [
    // an outer plugin handing on a copy of the call (call.with()): TokenPlugin notes its token on the copy
    {
      name: 'outer',
      intercept: (call, next) =>
        next.handle(call.with({ request: call.request })).pipe(catchError(() => throwError(() => new Error(`gave up after ${sniffed}`)))),
    },
    new TokenPlugin({ source: () => PLUGIN_TOKEN }),
    refusing((a) => {
      sniffed = String(a.metadata.get('authorization')[0]);
      return new Error('refused');
    }),
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
  const { app, logs, server } = useLoggedClients({
    ...QUOTING,
    ...HOLDING,
    'token-plugin': TOKEN_PLUGIN_QUOTED,
    'token-plugin-copy': TOKEN_PLUGIN_UNDER_A_COPY,
    'late-headers': LATE_HEADERS,
  });
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
    expect((error as Error).message).toContain('upstream refused header [token]');
    expect(everywhere(error)).not.toContain(PLUGIN_TOKEN);
  });

  it("TokenPlugin's token, noted on a copy of the call an outer plugin handed on, is masked in the outer plugin's error", async () => {
    const error = await failing('token-plugin-copy');
    expect(sniffed).toBe(`Bearer ${PLUGIN_TOKEN}`);
    expect((error as Error).message).toContain('gave up after [token]');
    expect(everywhere(error)).not.toContain(PLUGIN_TOKEN);
  });

  it('an onHeaders whose promise rejects quoting the token: the warning masks it', async () => {
    expect(await failing('late-headers')).toMatchObject({ message: '' });
    expect(await eventually(() => logs().lines.some((l) => l.includes('failed in onHeaders')), 2000)).toBe(true);
    expect(logs().lines.find((l) => l.includes('failed in onHeaders'))).toContain('headers refused for token [token]');
    expect(logs().lines.join('\n')).not.toContain(SECRET);
  });

  it('a secret given where the metadata object belongs (metadata: process.env.API_KEY) is described, not quoted', async () => {
    const error = await moduleStartError({ clients: [echoClient(server().target, { metadata: `Bearer ${SECRET}` as never })] });
    expect(isMeshConfigError(error)).toBe(true);
    expect((error as Error).message).toBe(
      "clients[0].metadata must be an object of entries or a function of the context, got a string (client 'echo')",
    );
  });
});

const API_KEY = 'ak_live_FAKE_0123456789abcdef';
const FN_KEY = 'fn-issued-api-key-0123456789';
const HOOK_SIGNATURE = 'sig-v1-0123456789abcdef0123';
/** A plugin refusing the call quoting every metadata value it was given (an upstream's error echoing the request's headers). */
const quotingHeaders = refusing((a) => new Error(`upstream refused headers ${JSON.stringify(a.metadata.toJSON())}`));

describe("credentials in the client's metadata (configuration or its function), quoted by user code, are masked too", () => {
  const { app, logs } = useLoggedClients({
    'static-key': { metadata: { 'x-api-key': API_KEY, 'x-caller': 'inventory-service' }, plugins: [quotingHeaders] },
    'function-key': { metadata: () => ({ 'x-auth-token': FN_KEY }), plugins: [quotingHeaders] },
    'static-key-intercept': {
      metadata: { 'x-api-key': API_KEY },
      plugins: [{ name: 'refuser', intercept: (call) => throwError(() => new Error(`rejected key ${String(call.metadata.get('x-api-key')[0])}`)) }],
    },
    'call-metadata': { plugins: [quotingHeaders] },
    // a plugin putting its own credential on the attempt, and another quoting what the attempt carries
    'hook-key': {
      plugins: [{ name: 'signer', beforeAttempt: (a) => void a.metadata.set('x-signature', HOOK_SIGNATURE) }, quotingHeaders],
    },
  });
  const failing = (name: string, metadata?: Metadata): Promise<unknown> =>
    lastValueFrom(
      app()
        .get(MeshClientRegistry)
        .get(name)
        .unary('Unary', {}, metadata ? { metadata } : undefined),
    ).catch((e: unknown) => e);
  const everywhere = (error: unknown): string => `${everythingOf(error)}\n${inspect(error, { depth: Infinity })}\n${logs().lines.join('\n')}`;

  it('a static x-api-key: [token] in the message, the key nowhere; a value under a key that names no credential stays', async () => {
    const error = await failing('static-key');
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain('"x-api-key":["[token]"]');
    expect((error as Error).message).toContain('"x-caller":["inventory-service"]');
    expect(everywhere(error)).not.toContain(API_KEY);
  });

  it("the metadata function's x-auth-token: masked the same way", async () => {
    const error = await failing('function-key');
    expect((error as Error).message).toContain('"x-auth-token":["[token]"]');
    expect(everywhere(error)).not.toContain(FN_KEY);
  });

  it("the call's own metadata: every value of a repeated credential key masked; a value under 8 characters is not (as for tokens)", async () => {
    const metadata = new Metadata();
    metadata.add('cookie', `session=${API_KEY}`);
    metadata.add('cookie', `theme=${FN_KEY}`);
    metadata.add('x-access-key', 'short');
    const error = await failing('call-metadata', metadata);
    expect((error as Error).message).toContain('"cookie":["[token]","[token]"]');
    expect(everywhere(error)).not.toContain(API_KEY);
    expect(everywhere(error)).not.toContain(FN_KEY);
    expect((error as Error).message).toContain('"x-access-key":["short"]');
  });

  it("a credential a plugin's hook put on the attempt: masked in another hook's failure", async () => {
    const error = await failing('hook-key');
    expect((error as Error).message).toContain('"x-signature":["[token]"]');
    expect(everywhere(error)).not.toContain(HOOK_SIGNATURE);
  });

  it('quoted by an intercepting plugin: masked', async () => {
    const error = await failing('static-key-intercept');
    expect((error as Error).message).toContain('rejected key [token]');
    expect(everywhere(error)).not.toContain(API_KEY);
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
