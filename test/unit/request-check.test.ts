import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { describe, expect, it } from 'vitest';
import type { FieldNaming } from '../../libs/mesh-client/src/config/policies.js';
import { requestShapeOf } from '../../libs/mesh-client/src/proto/message-shapes.js';
import { RequestCheck } from '../../libs/mesh-client/src/proto/request-check.js';
import { RequestProblem } from '../../libs/mesh-client/src/proto/request-problem.js';

const PEERS = fileURLToPath(new URL('../support/protos/peers.proto', import.meta.url));
const DEFAULTS = fileURLToPath(new URL('../support/protos/defaults.proto', import.meta.url));
const definition = loadSync(PEERS, { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true });
const say = (definition['peers.Peers'] as Record<string, MethodDefinition<object, object>>).Say!;

/** The check of `peers.SayRequest` as the library makes it for a client (camelCase names). */
function checkOf(naming: FieldNaming = 'exact', maxMessageBytes = 4 * 1024 * 1024): RequestCheck {
  const found = requestShapeOf((say as { requestType?: unknown }).requestType, say.path)!;
  return new RequestCheck(found.index, found.shape, naming, maxMessageBytes);
}

const refusal = (check: RequestCheck, request: unknown): string => {
  try {
    check.check(request);
  } catch (error) {
    expect(error).toBeInstanceOf(RequestProblem);
    return (error as Error).message;
  }
  throw new Error('the request was accepted');
};

describe('RequestCheck (planned once per message type)', () => {
  it('a Long-like int64 is read once: what was checked is what is encoded, whatever its getters do next', () => {
    let reads = 0;
    const shifty = {
      get low(): unknown {
        return ++reads === 1 ? 5 : 'not a number';
      },
      high: 0,
      unsigned: false,
    };
    const out = checkOf().check({ bigNumber: shifty }) as { bigNumber: unknown };
    expect(out.bigNumber).toEqual({ low: 5, high: 0, unsigned: false });
    expect(reads).toBe(1);
    expect(checkOf().check({ bigNumber: { low: 1, high: 2 } })).toEqual({ bigNumber: { low: 1, high: 2, unsigned: false } });
  });

  it("a oneof with one member set passes, also with the others null and the oneof's own key (a response sent back)", () => {
    expect(() => checkOf().check({ firstChoice: 'x', secondChoice: null, choice: 'firstChoice' })).not.toThrow();
    expect(() => checkOf().check({ secondChoice: 3 })).not.toThrow();
  });

  it('copies a valid request at every depth, under the loaded names, leaving out undefined', () => {
    const request = {
      text: 'hi',
      delayMs: 5,
      inner: { innerName: 'a', kind: 'KIND_A' },
      items: [{ innerName: 'b' }, { kind: 2 }],
      byName: { k: { innerName: 'c' } },
      bigNumber: '9223372036854775807',
      kind: undefined,
      firstChoice: 'x',
    };
    const out = checkOf().check(request) as Record<string, unknown>;
    expect(out).toEqual({ ...request, kind: undefined });
    expect(Object.keys(out)).not.toContain('kind');
    expect(out.inner).not.toBe(request.inner);
    expect(out.items).not.toBe(request.items);
  });

  it.each([
    ['a scalar', { delayMs: 'soon' }, 'request.delayMs must be a whole number in the int32 range, got a string'],
    ['a nested scalar', { inner: { kind: 'KIND_Z' } }, 'request.inner.kind must be an enum value (an int32 number or a name), got a string'],
    [
      'an enum number past int32 (the wire would truncate it)',
      { inner: { kind: 2 ** 40 } },
      'request.inner.kind must be an enum value (an int32 number or a name), got a whole number',
    ],
    [
      'two members of a oneof (both would be sent)',
      { firstChoice: 'a', secondChoice: 2 },
      "request.firstChoice and request.secondChoice are both set, but they are members of oneof 'choice': set one",
    ],
    ['an element of a list', { items: [{}, 'x'] }, 'request.items[1] must be an object (a peers.Inner message), got a string'],
    ['a scalar in a list element', { items: [{ innerName: 7 }] }, 'request.items[0].innerName must be a string, got a whole number'],
    ['a map value', { byName: { 'a"b': 5 } }, 'request.byName["a\\"b"] must be an object (a peers.Inner message), got a whole number'],
    ['a map field', { byName: [] }, 'request.byName must be a plain object (a map field), got an array'],
    ['a list field', { items: {} }, 'request.items must be an array (a repeated field), got an object'],
    ['an int64 past its range', { bigNumber: '9223372036854775808' }, 'request.bigNumber must be a whole number in the int64 range'],
    ['an unknown key', { delay_ms: 5 }, "'delay_ms' is not a field of peers.SayRequest; did you mean 'delayMs'?"],
    ['an unknown nested key', { items: [{ nmae: 'x' }] }, "'nmae' is not a field of peers.Inner (at request.items[0])"],
    ['not an object', 'text', 'the request must be an object (a peers.SayRequest message), got a string'],
    ['a field from the prototype', Object.create({ text: 'inherited' }) as object, 'request.text comes from the prototype of request'],
  ])('%s: refused, naming where', (_what, request, message) => {
    expect(refusal(checkOf(), request)).toContain(message);
  });

  it("'either' takes the other spelling of a field to its loaded name, at every depth; 'exact' refuses it", () => {
    const request = { delay_ms: 5, items: [{ inner_name: 'b' }], by_name: { k: { inner_name: 'c' } } };
    expect(checkOf('either').check(request)).toEqual({ delayMs: 5, items: [{ innerName: 'b' }], byName: { k: { innerName: 'c' } } });
    expect(refusal(checkOf('exact'), request)).toContain("'delay_ms' is not a field of peers.SayRequest");
  });

  it('a getter that throws is refused as a request that could not be read', () => {
    const request = Object.defineProperty({}, 'text', {
      enumerable: true,
      get: () => {
        throw new Error('boom');
      },
    });
    expect(refusal(checkOf(), request)).toContain('the request could not be read');
  });

  it('a value is tested by its own field, not by the last checked one (plans are per field)', () => {
    const check = checkOf();
    expect(() => check.check({ text: 'a', delayMs: 1 })).not.toThrow();
    expect(refusal(check, { delayMs: 'a' })).toContain('request.delayMs');
    expect(refusal(check, { text: 1 })).toContain('request.text must be a string');
  });

  it('a request sharing its children at every level (2^depth paths) is refused at maxMessageBytes, at once', () => {
    const tree = (loadSync(DEFAULTS, { defaults: true, oneofs: true })['mesh.defaults.Shapes'] as Record<string, MethodDefinition<object, object>>)
      .Tree!;
    const found = requestShapeOf((tree as { requestType?: unknown }).requestType, tree.path)!;
    const check = new RequestCheck(found.index, found.shape, 'exact', 1 << 20);
    let node: Record<string, unknown> = {};
    for (let i = 0; i < 60; i++) node = { left: node, children: [node] };
    const started = performance.now();
    expect(refusal(check, node)).toContain('the request holds more than 1048576 messages, list elements and map entries');
    expect(performance.now() - started).toBeLessThan(5000); // about 2^20 steps, not 2^60
    // the same depth without sharing (61 messages) passes
    let unshared: Record<string, unknown> = {};
    for (let i = 0; i < 60; i++) unshared = { left: unshared };
    expect(() => check.check(unshared)).not.toThrow();
  });

  it("a key that is a oneof's name and the other spelling of a field stays the oneof's under 'either' (left out, as a response's oneof key sent back)", () => {
    const proto = fileURLToPath(new URL('../support/protos/oneof-alias.proto', import.meta.url));
    const send = (loadSync(proto, { keepCase: true, oneofs: true })['collide.Collide'] as Record<string, MethodDefinition<object, object>>).Send!;
    const found = requestShapeOf((send as { requestType?: unknown }).requestType, send.path)!;
    const check = new RequestCheck(found.index, found.shape, 'either', 1 << 20);
    expect(check.check({ userId: 'x', x: 'a' })).toEqual({ x: 'a' });
    expect(check.check({ user_id: 'u' })).toEqual({ user_id: 'u' });
  });
});
