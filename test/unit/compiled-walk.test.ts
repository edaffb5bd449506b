import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { compileWalk, type KeyStep } from '../../libs/mesh-client/src/proto/compiled-walk.js';
import { requestShapeOf } from '../../libs/mesh-client/src/proto/message-shapes.js';
import { RequestCheck } from '../../libs/mesh-client/src/proto/request-check.js';

const isNumber = (v: unknown): boolean => typeof v === 'number';
const definition = loadSync(fileURLToPath(new URL('../support/protos/peers.proto', import.meta.url)), { keepCase: false, defaults: true });
const sayMethod = (definition['peers.Peers'] as Record<string, MethodDefinition<object, object>>).Say!;
/** peers.SayRequest as the library checks it (camelCase names; it nests peers.Inner). */
const say = requestShapeOf((sayMethod as { requestType?: unknown }).requestType, sayMethod.path)!;
const wrong = (i: number, path: string): Error => new Error(`field ${String(i)} at ${path}`);

describe('compileWalk', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('copies its inline fields itself and hands every other key to the general step, in key order', () => {
    const step = vi.fn<KeyStep>((value, key, out, _path, _depth, oneofs) => {
      out[key] = `general:${String(value[key])}`;
      return oneofs;
    });
    const walk = compileWalk(
      [
        { name: 'text', kind: 'string', fits: () => false },
        { name: 'n', kind: 'int32', fits: isNumber },
      ],
      step,
      wrong,
    )!;
    const out: Record<string, unknown> = {};
    walk({ other: 1, n: 2, text: 'a', gone: undefined, empty: null }, out, 'request', 0);
    expect(Object.entries(out)).toEqual([
      ['other', 'general:1'],
      ['n', 2],
      ['text', 'a'],
      ['gone', 'general:undefined'],
      ['empty', 'general:null'],
    ]);
    expect(step.mock.calls.map((c) => c[1])).toEqual(['other', 'gone', 'empty']);
    expect(() => walk({ text: 3 }, {}, 'request', 0)).toThrow('field 0 at request');
    expect(() => walk({ n: 'x' }, {}, 'request.inner', 1)).toThrow('field 1 at request.inner');
  });

  it('a field name no identifier could be (quotes, a line break, a backslash) compiles as the string it is', () => {
    const name = 'a"b\n\\c\u2028';
    const walk = compileWalk([{ name, kind: 'string', fits: () => false }], (_v, _k, _o, _p, _d, oneofs) => oneofs, wrong)!;
    const out: Record<string, unknown> = {};
    walk({ [name]: 'x' }, out, 'request', 0);
    expect(out).toEqual({ [name]: 'x' });
  });

  it('a request check compiles the walk of each message type at its first request, not when the client is made', () => {
    const compiled = vi.spyOn(globalThis, 'Function');
    const check = new RequestCheck(say.index, say.shape, 'exact', 1024);
    expect(compiled).not.toHaveBeenCalled();
    expect(check.check({ text: 'hi' })).toEqual({ text: 'hi' });
    expect(compiled).toHaveBeenCalledTimes(1);
    expect(check.check({ text: 'hi', inner: { innerName: 'a' } })).toEqual({ text: 'hi', inner: { innerName: 'a' } });
    expect(compiled).toHaveBeenCalledTimes(2);
    check.check({ inner: { innerName: 'b' } });
    expect(compiled).toHaveBeenCalledTimes(2);
  });

  it('a source that does not compile is a bug of its own, not a quiet fall back to the general walk', () => {
    vi.spyOn(globalThis, 'Function').mockImplementation(function () {
      throw new SyntaxError('Unexpected token');
    });
    expect(() => compileWalk([{ name: 'text', kind: 'string', fits: () => true }], (_v, _k, _o, _p, _d, oneofs) => oneofs, wrong)).toThrow(
      SyntaxError,
    );
  });

  describe('where the process allows no code from strings', () => {
    it('gives no walk, and the request check walks the general way with the same outcomes', () => {
      // what --disallow-code-generation-from-strings makes `new Function` throw
      const refused = vi.spyOn(globalThis, 'Function').mockImplementation(function () {
        throw new EvalError('Code generation from strings disallowed for this context');
      });
      expect(compileWalk([{ name: 'text', kind: 'string', fits: () => true }], (_v, _k, _o, _p, _d, oneofs) => oneofs, wrong)).toBeUndefined();
      refused.mockClear();
      const check = new RequestCheck(say.index, say.shape, 'exact', 1024);
      expect(check.check({ text: 'hi', delayMs: 5, inner: { innerName: 'a' } })).toEqual({ text: 'hi', delayMs: 5, inner: { innerName: 'a' } });
      expect(refused).toHaveBeenCalledTimes(2); // SayRequest's walk and Inner's, each refused once
      expect(() => check.check({ delayMs: 'soon' })).toThrow('request.delayMs must be a whole number in the int32 range, got a string');
    });
  });
});
