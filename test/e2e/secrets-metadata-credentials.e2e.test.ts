import { Metadata } from '@grpc/grpc-js';
import { catchError, lastValueFrom, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { MeshClientRegistry, isMeshClientError, type MeshAttempt, type MeshClientPlugin } from '@datapunk/mesh-client';
import { eventually, sleep } from '../support/wait.js';
import { everywhere, useLoggedClients } from '../support/logged-clients.js';

// Every secret below is 8+ characters and distinct, so a leak names its path.
const SIG_LATE_HEADERS = 'sig-LATE-headers-0123456789abcdef';
const SIG_HEDGE = 'sig-HEDGE-loser-0123456789abcdef';
const SIG_INTERCEPT = 'sig-INTERCEPT-0123456789abcdef';
const SIG_PREVIOUS = 'sig-PREVIOUS-attempt-0123456789';
const JWT = 'eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJzdmMifQ.c2lnbmF0dXJl';
const SESSION = 'sess-0123456789abcdefSESSION';
const QUOTED_COOKIE = 'quoted-cookie-0123456789abcdef';
const BIN_KEY = 'binary-api-key-0123456789abcdef';
const UPDATED_KEY = 'updated-api-key-0123456789abcdef';
const HOOK_OWN = 'hook-own-sync-after-0123456789';
const STRING_THROWN = 'string-thrown-key-0123456789';
const NAMED_KEY = 'error-name-key-0123456789abcdef';

const sigOf = (a: MeshAttempt): string => String(a.metadata.get('x-signature')[0]);

/** Signs every attempt with `sig` (a hook's own credential), and fails in afterAttempt quoting it. */
const signerFailingAfter = (sig: string, async = false): MeshClientPlugin => ({
  name: 'signer',
  beforeAttempt: (a) => void a.metadata.set('x-signature', sig),
  afterAttempt: (a) => {
    const error = new Error(`attempt signed with ${sigOf(a)} ended badly`);
    if (async) return new Promise<void>((_, reject) => setTimeout(() => reject(error), 20));
    throw error;
  },
});

const PREVIOUS = new WeakMap<object, string>();

describe('metadata credentials quoted by user code the call runs', () => {
  const { app, logs } = useLoggedClients({
    // the attempt's end is its final one (the deadline stopped it): the hook's own credential is in its state, cleared first
    // the hook's own credential, quoted in the normal (non-final) pass: the claim that holds
    'own-sync-after': { plugins: [signerFailingAfter(HOOK_OWN)] },
    'late-headers': {
      plugins: [
        {
          name: 'hdr',
          beforeAttempt: (a) => void a.metadata.set('x-signature', SIG_LATE_HEADERS),
          onHeaders: (a) => {
            const sig = sigOf(a);
            return new Promise<void>((_, reject) =>
              setTimeout(() => reject(new Error(`headers for signature ${sig} refused`)), 150),
            ) as unknown as void;
          },
        },
      ],
    },
    hedged: {
      timeoutMs: 3000,
      methods: { Unary: { idempotent: true, hedging: { maxAttempts: 2, delayMs: 50 } } },
      plugins: [
        {
          name: 'hedge-signer',
          beforeAttempt: (a) => {
            a.metadata.set('x-signature', SIG_HEDGE);
            // the first copy is slow: the second answers, the first loses the hedge
            if (a.attempt === 1) a.metadata.set('x-test-delay-ms', '1000');
          },
          afterAttempt: (a) => {
            if (a.attempt === 1) throw new Error(`hedged copy with ${sigOf(a)} was cancelled`);
          },
        },
      ],
    },
    // one plugin: signs in beforeAttempt, and its intercept names the signature when the call fails
    'intercept-quotes-hook': {
      plugins: [
        {
          name: 'sign-and-wrap',
          beforeAttempt: (a) => void a.metadata.set('x-signature', SIG_INTERCEPT),
          intercept: (call, next) => next.handle(call).pipe(catchError(() => throwError(() => new Error(`signed call (${SIG_INTERCEPT}) failed`)))),
        },
      ],
    },
    // a signer that names the signature the previous attempt was refused with
    'previous-attempt': {
      retry: { maxAttempts: 2, initialBackoffMs: 10, maxBackoffMs: 10 },
      plugins: [
        {
          name: 'resigner',
          beforeAttempt: (a) => {
            const previous = PREVIOUS.get(a.call.metadata);
            if (previous) throw new Error(`cannot re-sign: ${previous} was refused`);
            const sig = `${SIG_PREVIOUS}`;
            PREVIOUS.set(a.call.metadata, sig);
            a.metadata.set('x-signature', sig);
            a.metadata.set('x-test-status', '14');
          },
        },
      ],
    },
    // static `authorization: Bearer <jwt>`: a plugin checking the JWT quotes the token, not the header
    'bearer-static': {
      metadata: { authorization: `Bearer ${JWT}` },
      plugins: [
        {
          name: 'jwt-check',
          beforeAttempt: (a) => {
            const jwt = String(a.metadata.get('authorization')[0]).slice('Bearer '.length);
            throw new Error(`jwt expired: ${jwt}`);
          },
        },
      ],
    },
    'cookie-part': {
      metadata: { cookie: `theme=dark; session=${SESSION}` },
      plugins: [
        {
          name: 'session-check',
          beforeAttempt: (a) => {
            const session = /session=([^;]+)/.exec(String(a.metadata.get('cookie')[0]))![1];
            throw new Error(`session ${session} is unknown`);
          },
        },
      ],
    },
    'cookie-quoted': {
      metadata: { cookie: `session="${QUOTED_COOKIE}"` },
      plugins: [
        {
          name: 'headers-quoter',
          beforeAttempt: (a) => {
            throw new Error(`upstream refused headers ${JSON.stringify(a.metadata.toJSON())}`);
          },
        },
      ],
    },
    'bin-key': {
      metadata: { 'x-api-key-bin': BIN_KEY },
      plugins: [
        {
          name: 'bin-quoter',
          beforeAttempt: (a) => {
            throw new Error(`refused api key ${String(a.metadata.get('x-api-key-bin')[0])}`);
          },
        },
      ],
    },
    'string-thrown': {
      metadata: { 'x-api-key': STRING_THROWN },
      plugins: [
        {
          name: 'string-thrower',
          beforeAttempt: (a) => {
            throw `refused ${String(a.metadata.get('x-api-key')[0])}`;
          },
        },
      ],
    },
    // the credential in the thrown error's message (masked: the cause becomes a copy) and in its name (copied as it is)
    'error-name': {
      metadata: { 'x-api-key': NAMED_KEY },
      plugins: [
        {
          name: 'named-thrower',
          beforeAttempt: (a) => {
            const key = String(a.metadata.get('x-api-key')[0]);
            throw Object.assign(new Error(`refused ${key}`), { name: `KeyRefused(${key})` });
          },
        },
      ],
    },
    updated: {
      metadata: { 'x-api-key': 'initial-api-key-0123456789' },
      plugins: [
        {
          name: 'key-quoter',
          beforeAttempt: (a) => {
            throw new Error(`refused ${String(a.metadata.get('x-api-key')[0])}`);
          },
        },
      ],
    },
  });

  const call = (name: string, metadata?: Metadata, timeoutMs?: number): Promise<unknown> =>
    lastValueFrom(app().get(MeshClientRegistry).get(name).unary('Unary', {}, { metadata, timeoutMs })).catch((e: unknown) => e);

  it("a hook's own credential quoted by afterAttempt in the normal pass: masked (holds)", async () => {
    const error = await call('own-sync-after');
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain('attempt signed with [token] ended badly');
    expect(everywhere(error, logs(), 'own-sync-after')).not.toContain(HOOK_OWN);
  });

  it("an onHeaders whose promise rejects after the attempt ended, quoting the hook's own credential: not in the warning", async () => {
    const error = await call('late-headers');
    expect(isMeshClientError(error)).toBe(false); // the call succeeds
    expect(await eventually(() => logs().lines.some((l) => l.includes('failed in onHeaders')), 2000)).toBe(true);
    expect(logs().lines.join('\n')).not.toContain(SIG_LATE_HEADERS);
  });

  it("a hedged copy that lost, its afterAttempt quoting the hook's own credential: not in the warning", async () => {
    const result = await call('hedged');
    expect(isMeshClientError(result)).toBe(false);
    expect(await eventually(() => logs().lines.some((l) => l.includes('hedged copy with')), 3000)).toBe(true);
    expect(logs().lines.join('\n')).not.toContain(SIG_HEDGE);
  });

  it("a plugin's intercept quoting the credential its own beforeAttempt set: masked in the error", async () => {
    const error = await call(
      'intercept-quotes-hook',
      (() => {
        const m = new Metadata();
        m.set('x-test-status', '14');
        return m;
      })(),
    );
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain("plugin 'sign-and-wrap' failed in intercept");
    expect(everywhere(error, logs(), 'intercept-quotes-hook')).not.toContain(SIG_INTERCEPT);
  });

  it("a retry's beforeAttempt quoting the credential the previous attempt's hook set: masked", async () => {
    const error = await call('previous-attempt');
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain("plugin 'resigner' failed in beforeAttempt");
    expect(everywhere(error, logs(), 'previous-attempt')).not.toContain(SIG_PREVIOUS);
  });

  it('static authorization "Bearer <jwt>": a plugin quoting the JWT (without its scheme) gets it masked', async () => {
    const error = await call('bearer-static');
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain("plugin 'jwt-check' failed in beforeAttempt");
    expect(everywhere(error, logs(), 'bearer-static')).not.toContain(JWT);
  });

  it('static cookie: a plugin quoting the session cookie of it gets it masked', async () => {
    const error = await call('cookie-part');
    expect(isMeshClientError(error)).toBe(true);
    expect(everywhere(error, logs(), 'cookie-part')).not.toContain(SESSION);
  });

  it("a cookie with a quoted value, quoted as JSON (the commit's own quoting pattern): masked", async () => {
    const error = await call('cookie-quoted');
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain('upstream refused headers');
    expect(everywhere(error, logs(), 'cookie-quoted')).not.toContain(QUOTED_COOKIE);
  });

  it("a credential key ending in '-bin' given as a string: masked like any other credential", async () => {
    const error = await call('bin-key');
    expect(isMeshClientError(error)).toBe(true);
    expect(everywhere(error, logs(), 'bin-key')).not.toContain(BIN_KEY);
  });

  it('a string thrown quoting the credential: masked in message and cause (holds)', async () => {
    const error = await call('string-thrown');
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain('refused [token]');
    expect(everywhere(error, logs(), 'string-thrown')).not.toContain(STRING_THROWN);
  });

  it("the credential in the thrown error's name as well as its message: the masked copy kept as cause does not carry it", async () => {
    const error = await call('error-name');
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain('refused [token]');
    expect(everywhere(error, logs(), 'error-name')).not.toContain(NAMED_KEY);
  });

  it('client.update({ metadata }) at runtime: the new credential is masked (holds)', async () => {
    app()
      .get(MeshClientRegistry)
      .get('updated')
      .update({ metadata: { 'x-api-key': UPDATED_KEY } });
    const error = await call('updated');
    expect((error as Error).message).toContain('refused [token]');
    expect(everywhere(error, logs(), 'updated')).not.toContain(UPDATED_KEY);
    await sleep(0);
  });
});

const NEWLINE_KEY = 'newline-fn-key-0123456789abcdef';

describe('other user code a call runs, quoting a metadata credential of the call', () => {
  const { app, logs } = useLoggedClients({
    'fn-newline': { metadata: () => ({ 'x-api-key': `${NEWLINE_KEY}\n` }) },
  });
  const client = (name: string) => app().get(MeshClientRegistry).get(name);

  it('a metadata function whose credential cannot be sent (a trailing newline): the value is not quoted (holds)', async () => {
    const error = await lastValueFrom(client('fn-newline').unary('Unary', {})).catch((e: unknown) => e);
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain("metadata 'x-api-key'");
    expect(everywhere(error, logs(), 'fn-newline')).not.toContain(NEWLINE_KEY);
  });
});
