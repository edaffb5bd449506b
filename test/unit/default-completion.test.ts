import { fileURLToPath } from 'node:url';
import { loadSync, type MethodDefinition, type Options, type PackageDefinition } from '@grpc/proto-loader';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import { withCompletedDefaults } from '../../libs/mesh-client/src/proto/default-completion.js';
import { loadProtoFiles, PROTO_LOADER_OPTIONS } from '../../libs/mesh-client/src/proto/load-proto.js';

const DEFAULTS3 = fileURLToPath(new URL('../support/protos/defaults.proto', import.meta.url));
const DEFAULTS2 = fileURLToPath(new URL('../support/protos/defaults2.proto', import.meta.url));

type Decode = (bytes: Buffer) => Record<string, unknown>;
const methodOf = (definition: PackageDefinition, service: string, method: string): MethodDefinition<object, object> =>
  (definition[service] as Record<string, MethodDefinition<object, object>>)[method]!;

/** Wire bytes of messages written with proto field names, independent of any loader option. */
const wire = (() => {
  const root = new protobuf.Root();
  root.loadSync([DEFAULTS3, DEFAULTS2], { keepCase: true });
  return (type: string, value: Record<string, unknown>): Buffer => {
    const t = root.lookupType(type);
    return Buffer.from(t.encode(t.fromObject(value)).finish());
  };
})();

const b = (text: string): Buffer => Buffer.from(text);
const inner = wire('mesh.defaults.Inner', { blob: b('in-any') });

/** Replies to decode, by method: unset fields, empty present messages, explicit defaults, every nesting. */
const SAMPLES: Record<string, { type: string; values: Record<string, unknown>[] }> = {
  'mesh.defaults.Shapes/Everything': {
    type: 'mesh.defaults.Everything',
    values: [
      {},
      { payload: b('x'), snake_case_name: 'n' },
      { payload: Buffer.alloc(0), snake_case_name: '' },
      { inner: {} },
      {
        inner: { label: 'l' },
        inners: [{}, { blob: b('b') }, { blobs: [b('a'), Buffer.alloc(0)] }],
        inner_by_key: { a: {}, b: { label: 'x' } },
        blob_by_key: { k: Buffer.alloc(0), j: b('q') },
      },
      { choice_blob: b('c') },
      { choice_inner: {} },
      { choice_text: '' },
      { maybe_blob: Buffer.alloc(0) },
      { maybe_count: 0 },
      { scalars: { d: 1.5, f: Number.NaN, i64: '123', u64: '18446744073709551615', colour: 1, text: 't', flag: true }, numbers: [1, 2] },
      { scalars: {} },
    ],
  },
  'mesh.defaults.Shapes/Scalars': { type: 'mesh.defaults.Scalars', values: [{}, { i32: -1, text: 'x' }] },
  'mesh.defaults.Shapes/Tree': {
    type: 'mesh.defaults.Node',
    values: [{}, { value: b('a'), left: { left: { value: b('b') } }, children: [{}, { children: [{ value: b('c') }, {}] }] }],
  },
  'mesh.defaults.Shapes/Wrapped': {
    type: 'mesh.defaults.Wrapped',
    values: [{}, { payload: b('p') }, { detail: { type_url: 'type.googleapis.com/mesh.defaults.Inner', value: inner } }],
  },
  'mesh.defaults2.Legacy/Declared': { type: 'mesh.defaults2.Declared', values: [{}, { payload: b('z'), count: 0 }] },
  'mesh.defaults2.Legacy/Plain': { type: 'mesh.defaults2.Plain', values: [{}, { payload: Buffer.alloc(0), name: '', big: 0 }] },
};

/** Loader options users give in `proto.loader`, on top of the library's. */
const OPTION_SETS: { name: string; overrides: Options; completed: string[] }[] = [
  {
    name: 'library defaults',
    overrides: {},
    completed: ['Shapes/Everything', 'Shapes/Tree', 'Shapes/Wrapped', 'Legacy/Plain'],
  },
  {
    name: 'oneofs, enums and longs as strings',
    overrides: { oneofs: true, enums: String, longs: String },
    completed: ['Shapes/Everything', 'Shapes/Tree', 'Shapes/Wrapped', 'Legacy/Plain'],
  },
  { name: 'keepCase', overrides: { keepCase: true }, completed: ['Shapes/Everything', 'Shapes/Tree', 'Shapes/Wrapped', 'Legacy/Plain'] },
  // json unpacks google.protobuf.Any into a type this cannot know: Wrapped stays with proto-loader
  { name: 'json', overrides: { json: true }, completed: ['Shapes/Everything', 'Shapes/Tree', 'Legacy/Plain'] },
  // bytes as strings: no Buffer to save
  { name: 'bytes as strings', overrides: { bytes: String }, completed: [] },
  // 64-bit integers as Long objects: the types that hold one, and those that nest them, stay
  { name: 'longs as Long', overrides: { longs: undefined }, completed: ['Shapes/Tree', 'Shapes/Wrapped'] },
];

/** The object with every key in order, Buffers as their bytes: equal strings mean equal objects, key order included. */
const layout = (value: unknown): string => JSON.stringify(value, (_key, v: unknown) => (typeof v === 'number' && Number.isNaN(v) ? 'NaN' : v));

describe('completed defaults: responses decode to exactly what proto-loader gives', () => {
  for (const { name, overrides, completed } of OPTION_SETS) {
    it(`${name}: every sample reply, every method`, () => {
      const options: Options = { ...PROTO_LOADER_OPTIONS, ...overrides };
      const reference = loadSync([DEFAULTS3, DEFAULTS2], options);
      const completedDefaults = withCompletedDefaults(reference, () => loadSync([DEFAULTS3, DEFAULTS2], { ...options, defaults: false }), options);
      const swapped: string[] = [];
      let compared = 0;
      for (const [path, { type, values }] of Object.entries(SAMPLES)) {
        const [service, method] = path.split('/') as [string, string];
        const expected = methodOf(reference, service, method).responseDeserialize as Decode;
        const actual = methodOf(completedDefaults, service, method).responseDeserialize as Decode;
        if (actual !== expected) swapped.push(path.slice(path.lastIndexOf('.') + 1));
        for (const value of values) {
          const bytes = wire(type, value);
          const got = actual(bytes);
          const want = expected(bytes);
          expect(got, `${path} ${layout(value)}`).toStrictEqual(want);
          expect(layout(got), `${path} ${layout(value)}`).toBe(layout(want));
          compared++;
        }
      }
      expect(swapped.sort()).toEqual([...completed].sort());
      expect(compared).toBe(Object.values(SAMPLES).reduce((n, s) => n + s.values.length, 0));
    });
  }

  it('gives each reply its own defaults: Buffers, lists and maps are never shared between replies', () => {
    const loaded = loadProtoFiles(DEFAULTS3);
    const decode = methodOf(loaded, 'mesh.defaults.Shapes', 'Everything').responseDeserialize as Decode;
    const bytes = wire('mesh.defaults.Everything', { inner: {} });
    const first = decode(bytes) as {
      payload: Buffer;
      inners: unknown[];
      innerByKey: Record<string, unknown>;
      inner: { blobs: unknown[]; blob: Buffer };
    };
    const second = decode(bytes) as typeof first;
    expect(first.payload).not.toBe(second.payload);
    expect(first.inner.blob).not.toBe(second.inner.blob);
    first.inners.push('mutated');
    first.innerByKey.k = 'mutated';
    first.inner.blobs.push('mutated');
    const third = decode(bytes) as typeof first;
    expect(third.inners).toEqual([]);
    expect(third.innerByKey).toEqual({});
    expect(third.inner.blobs).toEqual([]);
    expect(Buffer.isBuffer(third.payload) && third.payload.length).toBe(0);
  });

  it('leaves proto-loader alone without defaults, and for responses that hold no bytes', () => {
    const sparse = loadProtoFiles(DEFAULTS3, undefined, { defaults: false });
    const bytes = wire('mesh.defaults.Everything', { snake_case_name: 'n' });
    expect((methodOf(sparse, 'mesh.defaults.Shapes', 'Everything').responseDeserialize as Decode)(bytes)).toStrictEqual({ snakeCaseName: 'n' });
    let loads = 0;
    const plain = loadSync(DEFAULTS3, PROTO_LOADER_OPTIONS);
    const untouched = withCompletedDefaults(
      {
        'mesh.defaults.Scalars': plain['mesh.defaults.Scalars']!,
        'mesh.defaults.Shapes': { Scalars: methodOf(plain, 'mesh.defaults.Shapes', 'Scalars') },
      },
      () => {
        loads++;
        return plain;
      },
      PROTO_LOADER_OPTIONS,
    );
    expect(methodOf(untouched, 'mesh.defaults.Shapes', 'Scalars')).toBe(methodOf(plain, 'mesh.defaults.Shapes', 'Scalars'));
    expect(loads).toBe(0);
  });

  it('decodes at load only the types a response can hold', () => {
    const options: Options = { ...PROTO_LOADER_OPTIONS };
    const loaded = loadSync(DEFAULTS3, options);
    const decoded: string[] = [];
    const watched: PackageDefinition = { ...loaded };
    for (const name of ['mesh.defaults.Unused', 'mesh.defaults.Inner']) {
      const definition = loaded[name] as { deserialize: Decode };
      watched[name] = { ...definition, deserialize: (bytes: Buffer) => (decoded.push(name), definition.deserialize(bytes)) } as never;
    }
    withCompletedDefaults(watched, () => loadSync(DEFAULTS3, { ...options, defaults: false }), options);
    expect(decoded).toEqual(['mesh.defaults.Inner']);
  });

  it("keeps a hostile map key '__proto__' an own key, as proto-loader does, and completes its message", () => {
    const writer = protobuf.Writer.create();
    const entry = (field: number, value: Uint8Array): void => {
      writer
        .uint32((field << 3) | 2)
        .fork()
        .uint32(10)
        .string('__proto__')
        .uint32(18)
        .bytes(value)
        .ldelim();
    };
    entry(5, wire('mesh.defaults.Inner', { label: 'evil' })); // inner_by_key
    entry(6, b('x')); // blob_by_key
    const bytes = Buffer.from(writer.finish());
    const expected = methodOf(loadSync(DEFAULTS3, PROTO_LOADER_OPTIONS), 'mesh.defaults.Shapes', 'Everything').responseDeserialize as Decode;
    const actual = methodOf(loadProtoFiles(DEFAULTS3), 'mesh.defaults.Shapes', 'Everything').responseDeserialize as Decode;
    const got = actual(bytes) as { innerByKey: Record<string, { label: string; blobs: unknown[] }> };
    expect(got).toStrictEqual(expected(bytes));
    expect(layout(got)).toBe(layout(expected(bytes)));
    expect(Object.getPrototypeOf(got.innerByKey)).toBe(Object.prototype);
    expect(Object.keys(got.innerByKey)).toEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(got.innerByKey, '__proto__')?.value).toMatchObject({ label: 'evil', blobs: [] });
  });

  it("passes a malformed reply to proto-loader's decoder, which rejects it as before", () => {
    const loaded = loadProtoFiles(DEFAULTS3);
    const decode = methodOf(loaded, 'mesh.defaults.Shapes', 'Everything').responseDeserialize as Decode;
    // field 1 (bytes) claims 100 bytes and carries 1
    expect(() => decode(Buffer.from([0x0a, 100, 1]))).toThrow(/index out of range/);
  });
});
