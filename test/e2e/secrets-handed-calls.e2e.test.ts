import { type Metadata } from '@grpc/grpc-js';
import { catchError, lastValueFrom, throwError } from 'rxjs';
import { describe, expect, it } from 'vitest';
import {
  MeshClientRegistry,
  TokenPlugin,
  isMeshClientError,
  type MeshCall,
  type MeshClientOptions,
  type MeshClientPlugin,
} from '@datapunk/mesh-client';
import { everywhere, useLoggedClients } from '../support/logged-clients.js';

const TOKEN = 'token-plugin-t0ken-0123456789abcdef';
const OWN_KEY = 'intercept-own-key-0123456789abcdef';

/** What the innermost plugin saw as the attempt's authorization (quoted later by an outer plugin). */
const sniffed: Record<string, string> = {};
const sniffer = (client: string): MeshClientPlugin => ({
  name: 'sniffer',
  beforeAttempt: (a) => {
    sniffed[client] = String(a.metadata.get('authorization')[0]);
    throw new Error('refused');
  },
});

/** An outer plugin handing on its own MeshCall (the MeshCall interface, built by hand, not with()), quoting what the sniffer saw when the call fails. */
const handBuilt = (client: string, metadata?: (call: MeshCall) => Metadata): MeshClientPlugin => ({
  name: 'outer',
  intercept: (call, next) => {
    const own: MeshCall = {
      method: call.method,
      request: call.request,
      metadata: metadata ? metadata(call) : call.metadata,
      deadline: call.deadline,
      context: call.context,
      with: (change) => call.with(change),
    };
    const quoted = (): string => (metadata ? `its own x-api-key ${String(own.metadata.get('x-api-key')[0])}` : (sniffed[client] ?? ''));
    return next.handle(own).pipe(catchError(() => throwError(() => new Error(`gave up after ${quoted()}`))));
  },
});

/** An outer plugin handing on a Proxy of the call whose `progress` (the key call-secrets.ts reads) throws or is odd. */
const proxied = (trap: (target: MeshCall, key: string | symbol) => unknown): MeshClientPlugin => ({
  name: 'proxy',
  intercept: (call, next) => next.handle(new Proxy(call, { get: (target, key) => trap(target, key) })),
});

const withToken = (plugins: MeshClientPlugin[]): Partial<MeshClientOptions> => ({ plugins: [...plugins, new TokenPlugin({ source: () => TOKEN })] });

const OLD = 'old-token-plugin-t0ken-0123456789';
const NEW = 'new-token-plugin-t0ken-0123456789';
const seenTokens: string[] = [];

describe("TokenPlugin's token on a call a plugin handed on", () => {
  const { app, logs } = useLoggedClients({
    'hand-built': { plugins: [handBuilt('hand-built'), new TokenPlugin({ source: () => TOKEN }), sniffer('hand-built')] },
    'hand-built-own-metadata': {
      plugins: [
        handBuilt('hand-built-own-metadata', (call) => {
          const m = call.metadata.clone();
          m.set('x-api-key', OWN_KEY);
          return m;
        }),
        sniffer('hand-built-own-metadata'),
      ],
    },
    'progress-throws': withToken([
      proxied((target, key) => {
        if (key === 'progress') throw new Error('no progress here');
        return Reflect.get(target, key) as unknown;
      }),
    ]),
    'progress-primitive': withToken([proxied((target, key) => (key === 'progress' ? 42 : (Reflect.get(target, key) as unknown)))]),
    // a plugin's own MeshCall whose `progress` (a name the MeshCall interface does not reserve) is a getter making a new object
    'progress-fresh': {
      plugins: [
        proxied((target, key) => (key === 'progress' ? { sent: 0 } : (Reflect.get(target, key) as unknown))),
        new TokenPlugin({ source: () => TOKEN }),
        {
          name: 'quoter',
          beforeAttempt: (a) => {
            // the token alone (a JWT check), not the header: only the token TokenPlugin noted can mask it
            throw new Error(`refused ${String(a.metadata.get('authorization')[0]).slice('Bearer '.length)}`);
          },
        },
      ],
    },
  });
  const call = (name: string): Promise<unknown> =>
    lastValueFrom(app().get(MeshClientRegistry).get(name).unary('Unary', { message: 'm' })).catch((e: unknown) => e);

  it("an outer plugin handing on a MeshCall of its own (not with()): TokenPlugin's token it quotes is masked in its error", async () => {
    const error = await call('hand-built');
    expect(sniffed['hand-built']).toBe(`Bearer ${TOKEN}`);
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain("plugin 'outer' failed in intercept: gave up after [token]");
    expect(everywhere(error, logs(), 'hand-built')).not.toContain(TOKEN);
  });

  it('an outer plugin handing on its own MeshCall with its own x-api-key: the key it quotes is masked in its error', async () => {
    const error = await call('hand-built-own-metadata');
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain("plugin 'outer' failed in intercept: gave up after its own x-api-key");
    expect(everywhere(error, logs(), 'hand-built-own-metadata')).not.toContain(OWN_KEY);
  });

  it("a handed-on call whose 'progress' throws or is a number: the call goes through, no crash (holds)", async () => {
    for (const name of ['progress-throws', 'progress-primitive']) {
      const reply = await call(name);
      expect(isMeshClientError(reply)).toBe(false);
      expect(reply).toMatchObject({ message: 'm' });
    }
  });

  it("a handed-on call whose 'progress' is a new object at each read: TokenPlugin's token is still masked", async () => {
    const error = await call('progress-fresh');
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain("plugin 'quoter' failed in beforeAttempt");
    expect(everywhere(error, logs(), 'progress-fresh')).not.toContain(TOKEN);
  });
});

describe('TokenPlugin refreshing its token under with() copies', () => {
  const { app, logs } = useLoggedClients(
    {
      // two with() copies deep, the token refreshed on UNAUTHENTICATED (the server takes only NEW): both tokens quoted by the outermost plugin
      'refreshed-under-copies': {
        plugins: [
          {
            name: 'outermost',
            intercept: (call, next) =>
              next
                .handle(call.with({ request: call.request }))
                .pipe(catchError(() => throwError(() => new Error(`tokens tried: ${seenTokens.join(' ')}`)))),
          },
          { name: 'middle', intercept: (call, next) => next.handle(call.with({ request: call.request })) },
          new TokenPlugin({ source: ({ refresh }) => (refresh ? NEW : OLD) }),
          {
            name: 'recorder',
            beforeAttempt: (a) => void seenTokens.push(String(a.metadata.get('authorization')[0]).slice('Bearer '.length)),
            afterAttempt: (_a, end) => {
              if (end.code === 0) throw new Error('fail the call after the replay succeeded');
            },
          },
        ],
      },
    },
    { requireToken: () => NEW },
  );
  const call = (name: string): Promise<unknown> =>
    lastValueFrom(app().get(MeshClientRegistry).get(name).unary('Unary', { message: 'm' })).catch((e: unknown) => e);

  it("a token refreshed under two with() copies: old and new token both masked in the outermost plugin's error (holds)", async () => {
    const error = await call('refreshed-under-copies');
    expect(seenTokens).toEqual([OLD, NEW]);
    expect(isMeshClientError(error)).toBe(true);
    expect((error as Error).message).toContain('tokens tried: [token] [token]');
    expect(everywhere(error, logs(), 'refreshed-under-copies')).not.toMatch(new RegExp(`${OLD}|${NEW}`));
  });
});
