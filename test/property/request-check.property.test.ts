import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition } from '@grpc/proto-loader';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { FieldNaming } from '../../libs/mesh-client/src/config/policies.js';
import { requestShapeOf } from '../../libs/mesh-client/src/proto/message-shapes.js';
import { RequestCheck } from '../../libs/mesh-client/src/proto/request-check.js';

const protos = (name: string): string => fileURLToPath(new URL(`../support/protos/${name}`, import.meta.url));
const OPTIONS = { keepCase: false, longs: String, enums: String, defaults: true, oneofs: true };

/** The request type of one method, as the library checks it. */
function typeOf(file: string, service: string, method: string): MethodDefinition<object, object> {
  return (loadSync(protos(file), OPTIONS)[service] as Record<string, MethodDefinition<object, object>>)[method]!;
}

const TYPES = {
  everything: typeOf('defaults.proto', 'mesh.defaults.Shapes', 'Everything'),
  scalars: typeOf('defaults.proto', 'mesh.defaults.Shapes', 'Scalars'),
  say: typeOf('peers.proto', 'peers.Peers', 'Say'),
};

function checkOf(def: MethodDefinition<object, object>, naming: FieldNaming, general: boolean): RequestCheck {
  const found = requestShapeOf((def as { requestType?: unknown }).requestType, def.path)!;
  return new RequestCheck(found.index, found.shape, naming, 4 * 1024 * 1024, general);
}

/** Every key of every message the three types hold, their other spellings, and keys that are no field. */
const KEYS = [
  ...['payload', 'snakeCaseName', 'snake_case_name', 'inner', 'inners', 'innerByKey', 'inner_by_key', 'blobByKey', 'scalars'],
  ...['choiceBlob', 'choice_blob', 'choiceInner', 'choice', 'blob', 'label', 'blobs', 'd', 'f', 'i32', 'i64', 'u64', 's32', 'f64'],
  ...['flag', 'text', 'colour', 'delayMs', 'delay_ms', 'replyBytes', 'items', 'byName', 'bigNumber', 'kind', 'firstChoice'],
  ...['secondChoice', 'second_choice', 'innerName', 'choiceText', 'choice_text', 'maybeBlob', 'maybe_count', 'maybeCount', 'numbers'],
  ...['nope', 'toString', '__proto__'],
];

/** Values of every kind a field may take or refuse, and messages holding more of them. */
const value: fc.Memo<unknown> = fc.memo((depth) =>
  fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constantFrom(undefined, null, '', 'x', 'KIND_A', 'RED', 'COLOUR_UNSET', 'KIND_Z', '12', '-3', ' ', '1e3', 'YWJj', '9223372036854775808'),
    fc.constantFrom(0, 1, -1, 1.5, 2 ** 31, -(2 ** 31) - 1, 2 ** 53, Number.NaN, Infinity, true, false, 10n),
    fc.constantFrom(Buffer.from('ab'), new Uint8Array([1]), new Date(0), new Map(), { low: 1, high: 0 }, { low: 'x', high: 0 }),
    depth <= 1 ? fc.constant({}) : message(depth - 1),
    depth <= 1 ? fc.constant([]) : fc.array(value(depth - 1), { maxLength: 3 }),
  ),
);

/**
 * A request: keys in a random order, some values inherited from a prototype or behind getters
 * (counted; some take a key away or add one as they are read), sometimes behind a Proxy.
 */
const message = (depth: number): fc.Arbitrary<unknown> =>
  fc
    .record({
      entries: fc.array(
        fc.tuple(fc.constantFrom(...KEYS), value(depth), fc.constantFrom('data', 'data', 'data', 'getter', 'inherited', 'deletes', 'adds')),
        { maxLength: 6 },
      ),
      nullProto: fc.boolean(),
      proxy: fc.boolean(),
    })
    .map(({ entries, nullProto, proxy }) => new Spec(entries, nullProto, proxy));

/** What `build` makes a request of (a class of its own: a Map or a Date among the values is no spec). */
class Spec {
  constructor(
    readonly entries: [string, unknown, string][],
    readonly nullProto: boolean,
    /** Behind a Proxy whose traps pass every operation on (each counted in the reads). */
    readonly proxy: boolean,
  ) {}
}

const dataOf = (value: unknown): PropertyDescriptor => ({ value, enumerable: true, writable: true, configurable: true });

/** Builds the request `spec` describes, with its getters and traps counting their reads in `reads`. */
function build(spec: unknown, reads: string[]): unknown {
  if (Array.isArray(spec)) return spec.map((v) => build(v, reads));
  if (!(spec instanceof Spec)) return spec;
  const inherited: Record<string, unknown> = {};
  const out: Record<string, unknown> = Object.create(spec.nullProto ? null : Object.prototype) as Record<string, unknown>;
  for (const [key, v, how] of spec.entries) {
    const built = build(v, reads);
    // Defined, never assigned: a key named __proto__ stays a key, and no getter met on the way up is called.
    if (how === 'inherited') Object.defineProperty(inherited, key, dataOf(built));
    else if (how === 'data') Object.defineProperty(out, key, dataOf(built));
    else
      Object.defineProperty(out, key, {
        get: () => {
          reads.push(key);
          if (how === 'deletes') delete out[Object.keys(out)[0]!];
          if (how === 'adds') Object.defineProperty(out, `added${String(reads.length)}`, dataOf(1));
          return built;
        },
        enumerable: true,
        configurable: true,
      });
  }
  if (Object.keys(inherited).length > 0) Object.setPrototypeOf(out, Object.setPrototypeOf(inherited, spec.nullProto ? null : Object.prototype));
  if (!spec.proxy) return out;
  const traced =
    <A extends unknown[], R>(name: string, trap: (...args: A) => R) =>
    (...args: A): R => {
      reads.push(name);
      return trap(...args);
    };
  return new Proxy(out, {
    get: traced('get', (target: object, key: string | symbol) => Reflect.get(target, key) as unknown),
    ownKeys: traced('ownKeys', (target: object) => Reflect.ownKeys(target)),
    getOwnPropertyDescriptor: traced('descriptor', (target: object, key: string | symbol) => Reflect.getOwnPropertyDescriptor(target, key)),
    getPrototypeOf: traced('prototype', (target: object) => Reflect.getPrototypeOf(target)),
  });
}

/** What a check made of a request: its copy (with every object's key order) or its error's message. */
function outcome(check: RequestCheck, request: unknown): { copy: unknown; order: string } | { error: string } {
  try {
    const copy = check.check(request);
    return { copy, order: JSON.stringify(copy, (_, v: unknown) => (v && typeof v === 'object' && !ArrayBuffer.isView(v) ? Object.keys(v) : v)) };
  } catch (error) {
    return { error: `${(error as Error).name}: ${(error as Error).message}` };
  }
}

describe('the compiled walk of a message type (property)', () => {
  it('accepts, copies (in the same key order) and refuses exactly as the general walk, with the same getter reads and Proxy traps in the same order', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...(Object.keys(TYPES) as (keyof typeof TYPES)[])),
        fc.constantFrom<FieldNaming>('exact', 'either'),
        message(3),
        (type, naming, spec) => {
          const compiledReads: string[] = [];
          const generalReads: string[] = [];
          const compiled = outcome(checkOf(TYPES[type], naming, false), build(spec, compiledReads));
          const general = outcome(checkOf(TYPES[type], naming, true), build(spec, generalReads));
          expect(compiled).toEqual(general);
          expect(compiledReads).toEqual(generalReads);
        },
      ),
      { numRuns: 3000 },
    );
  });

  it('a request of plain scalar fields (all compiled cases) is copied as given, and a wrong value refused by its path', () => {
    // (the property above holds the two walks to one outcome; this pins the outcome down on its own)
    const check = checkOf(TYPES.scalars, 'exact', false);
    expect(check.check({ text: 'a', i32: 3, flag: true, d: 1.5, colour: 'RED', f: null })).toEqual({
      text: 'a',
      i32: 3,
      flag: true,
      d: 1.5,
      colour: 'RED',
      f: null,
    });
    expect(() => check.check({ text: 'a', i32: 'three' })).toThrow('request.i32 must be a whole number in the int32 range, got a string');
    expect(() => check.check({ flag: 1, text: 2 })).toThrow('request.flag must be true or false, got a whole number');
  });
});
