import { inspect } from 'node:util';
import { Client, connectivityState, credentials } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { ChannelPool } from '../../libs/mesh-client/src/client/channels/channel-pool.js';
import { watchUnawaited } from '../../libs/mesh-client/src/config/promise-like.js';
import { causeWithoutSecrets, describeThrown } from '../../libs/mesh-client/src/errors/describe-thrown.js';

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('watchUnawaited: what a hook that is not awaited gives back', () => {
  it('a Promise that rejects: its reason goes to report, once', async () => {
    const reported: unknown[] = [];
    watchUnawaited(Promise.reject(new Error('late')), (e) => reported.push(e));
    await turn();
    expect(reported.map((e) => (e as Error).message)).toEqual(['late']);
  });

  it('anything else (undefined, a value, a Promise that resolves) reports nothing', async () => {
    const reported: unknown[] = [];
    for (const answer of [undefined, 0, 'x', { then: 5 }, Promise.resolve('ok')]) watchUnawaited(answer, (e) => reported.push(e));
    await turn();
    expect(reported).toEqual([]);
  });

  it('a thenable whose then throws, or whose then getter throws, and a report that throws: nothing gets out', async () => {
    const throwingGetter = Object.defineProperty({}, 'then', {
      get: () => {
        throw new Error('getter threw');
      },
    });
    const throwsNow = {
      then: () => {
        throw new Error('then threw at once');
      },
    };
    expect(() => watchUnawaited(throwsNow, () => undefined)).not.toThrow();
    expect(() => watchUnawaited(throwingGetter, () => undefined)).not.toThrow();
    expect(() =>
      watchUnawaited(Promise.reject(new Error('x')), () => {
        throw new Error('report threw');
      }),
    ).not.toThrow();
    await turn(); // vitest fails the file on any unhandled rejection
  });
});

describe("grpc-js's refusal of a metadata value is never repeated", () => {
  const SECRET = 'tok-123.abc';
  const refusal = (): Error => new Error(`Metadata string value "Bearer ${SECRET}\n" contains illegal characters`);

  it('describeThrown leaves the value out and says why', () => {
    const text = describeThrown(refusal());
    expect(text).not.toContain(SECRET);
    expect(text).toContain('Metadata string value (not shown: it may be a secret) contains illegal characters');
  });

  it('as a cause: a copy whose message and stack leave it out; any other error is kept as it is', () => {
    const cause = causeWithoutSecrets(refusal()) as Error;
    expect(`${cause.message}\n${cause.stack ?? ''}`).not.toContain(SECRET);
    expect(cause.stack).toContain('unawaited.test');
    const other = new Error('Metadata key "Bad Key" contains illegal characters');
    expect(causeWithoutSecrets(other)).toBe(other);
    expect(describeThrown(other)).toBe('Metadata key "Bad Key" contains illegal characters');
  });

  it('two causes deep (a plugin that wraps what grpc-js threw): the chain is copied without it, each message kept', () => {
    const wrapped = new TypeError('token step failed', { cause: new Error('set failed', { cause: refusal() }) });
    const cause = causeWithoutSecrets(wrapped) as Error;
    const chain: Error[] = [];
    for (let e: unknown = cause; e instanceof Error; e = e.cause) chain.push(e);
    expect(chain.map((e) => e.message)).toEqual([
      'token step failed',
      'set failed',
      'Metadata string value (not shown: it may be a secret) contains illegal characters (a newline or a character outside printable ASCII?)',
    ]);
    expect(chain[0]!.name).toBe('TypeError');
    expect(chain.map((e) => `${e.message}\n${e.stack ?? ''}`).join('\n')).not.toContain(SECRET);
    const clean = new Error('outer', { cause: new Error('inner') });
    expect(causeWithoutSecrets(clean)).toBe(clean);
  });

  it.each([
    ['eight causes deep', () => Array.from({ length: 7 }).reduce<Error>((e, _, i) => new Error(`level ${String(i)}`, { cause: e }), refusal())],
    [
      'in an AggregateError (Promise.any over token sources)',
      () => new Error('no source', { cause: new AggregateError([new Error('a'), refusal()], 'all failed') }),
    ],
    ['as a cause that is no Error', () => new Error('wrapped', { cause: { message: refusal().message } })],
    ['as a cause that is a string', () => new Error('wrapped', { cause: refusal().message })],
    [
      'in a cycle',
      () => {
        const looping = new Error('loop');
        looping.cause = new Error('back', { cause: looping });
        return new Error('top', { cause: new AggregateError([looping, refusal()], 'x') });
      },
    ],
  ])('%s: what util.inspect prints of the copy leaves it out', (_how, made) => {
    const cause = causeWithoutSecrets(made());
    expect(inspect(cause, { depth: 20 })).not.toContain(SECRET);
  });
});

describe('ChannelPool after close', () => {
  it('a replacement (a certificate reload or update() that comes late) is closed at once, never used', () => {
    const first = new Client('127.0.0.1:1', credentials.createInsecure());
    const pool = new ChannelPool({ clients: [first] });
    pool.close();
    const late = new Client('127.0.0.1:1', credentials.createInsecure());
    pool.replace({ clients: [late] });
    expect(late.getChannel().getConnectivityState(false)).toBe(connectivityState.SHUTDOWN);
    expect(pool.primary).toBe(first);
  });
});
