import type { MethodDefinition, Options, PackageDefinition } from '@grpc/proto-loader';
import { shapesOf, type ShapeIndex } from './message-shapes.js';

type Message = Record<string, unknown>;

const EMPTY = Buffer.alloc(0);

/** How one type's message, decoded without defaults, gets them. Completions refer to each other (a type may nest itself). */
interface Completion {
  /** What proto-loader gives for an empty message: every default, in its key order. */
  readonly template: Message;
  /** Keys whose default is an empty Buffer, an empty list or an empty map: made fresh per message. */
  readonly buffers: string[];
  readonly lists: string[];
  readonly maps: string[];
  /** Message-typed fields: a present value is completed too. */
  readonly nested: { key: string; shape: 'one' | 'list' | 'map'; completion: Completion }[];
}

function complete(c: Completion, sparse: Message): Message {
  const out: Message = { ...c.template };
  // A zero-length view costs a tenth of a new Buffer and is still one object per message; a field
  // the message holds keeps its own value (the template's key order stays).
  for (const key of c.buffers) if (!Object.hasOwn(sparse, key)) out[key] = EMPTY.subarray(0, 0);
  for (const key of c.lists) if (!Object.hasOwn(sparse, key)) out[key] = [];
  for (const key of c.maps) if (!Object.hasOwn(sparse, key)) out[key] = {};
  for (const key in sparse) out[key] = sparse[key];
  for (const { key, shape, completion } of c.nested) {
    const value = out[key];
    if (value === null || value === undefined) continue;
    if (shape === 'one') out[key] = complete(completion, value as Message);
    else if (shape === 'list') {
      const list = value as Message[];
      for (let i = 0; i < list.length; i++) list[i] = complete(completion, list[i]!);
    } else {
      // In place: protobufjs made each key an own property, '__proto__' from a hostile peer too,
      // and assigning to an own property never reaches Object.prototype's setter.
      const map = value as Record<string, Message>;
      for (const k in map) map[k] = complete(completion, map[k]!);
    }
  }
  return out;
}

const isEmptyPlainObject = (v: object): boolean => Object.getPrototypeOf(v) === Object.prototype && Object.keys(v).length === 0;

/** The message types a response can hold: the RPCs' response types and every type they nest. */
function reachableFromResponses(index: ShapeIndex): Set<string> {
  const found = new Set<string>();
  const visit = (name: string): void => {
    const shape = index.messages.get(name);
    if (!shape || found.has(name)) return;
    found.add(name);
    for (const field of shape.fields.values()) {
      const value = field.mapValue ?? field;
      if (value.kind === 'message' && value.type !== undefined) visit(value.type);
    }
  };
  for (const name of index.outputs.values()) visit(name);
  return found;
}

/**
 * The completion of each type a response can hold whose defaults this file can reproduce exactly,
 * with whether it saves a Buffer. Only those types are decoded here (protobufjs compiles a type's
 * decoder on its first use): a large file set costs no more at start-up than its responses need.
 */
function completions(loaded: PackageDefinition, index: ShapeIndex, options: Options): Map<string, { completion: Completion; buffers: boolean }> {
  const own = new Map<string, Completion>();
  for (const name of reachableFromResponses(index)) {
    const definition = loaded[name] as { deserialize?: (bytes: Buffer) => Message } | undefined;
    if (typeof definition?.deserialize !== 'function') continue;
    // With `json`, protobufjs unpacks google.protobuf.Any into the message it holds, whose type
    // is not known here.
    if (options.json && name === 'google.protobuf.Any') continue;
    const template = definition.deserialize(EMPTY);
    const c: Completion = { template, buffers: [], lists: [], maps: [], nested: [] };
    let exact = true;
    for (const [key, value] of Object.entries(template)) {
      if (typeof value !== 'object' || value === null) continue;
      if (Buffer.isBuffer(value) && value.length === 0) c.buffers.push(key);
      else if (Array.isArray(value) && value.length === 0) c.lists.push(key);
      else if (isEmptyPlainObject(value)) c.maps.push(key);
      else exact = false; // e.g. a Long: left to proto-loader
    }
    if (exact) own.set(name, c);
  }
  // The message-typed fields of each type: (key, shape, type).
  const nestedOf = new Map<string, { key: string; shape: 'one' | 'list' | 'map'; type: string }[]>();
  for (const name of own.keys()) {
    const list = [];
    for (const field of index.messages.get(name)!.fields.values()) {
      const value = field.mapValue ?? field;
      if (value.kind !== 'message' || value.type === undefined) continue;
      list.push({
        key: field.name,
        shape: field.mapValue ? ('map' as const) : field.repeated ? ('list' as const) : ('one' as const),
        type: value.type,
      });
    }
    nestedOf.set(name, list);
  }
  // A type qualifies when it and every type it nests do (types may nest each other: fixed points).
  const ok = new Set(own.keys());
  const buffers = new Set([...own].filter(([, c]) => c.buffers.length > 0).map(([name]) => name));
  for (let changed = true; changed;) {
    changed = false;
    for (const name of ok) {
      const nested = nestedOf.get(name)!;
      if (nested.some((n) => !ok.has(n.type))) {
        ok.delete(name);
        changed = true;
      } else if (!buffers.has(name) && nested.some((n) => buffers.has(n.type))) {
        buffers.add(name);
        changed = true;
      }
    }
  }
  const result = new Map<string, { completion: Completion; buffers: boolean }>();
  for (const name of ok) {
    const c = own.get(name)!;
    for (const n of nestedOf.get(name)!) c.nested.push({ key: n.key, shape: n.shape, completion: own.get(n.type)! });
    result.set(name, { completion: c, buffers: buffers.has(name) });
  }
  return result;
}

/**
 * proto-loader's `defaults: true` gives each unset `bytes` field of each decoded message a new
 * empty Buffer, and allocating one costs about 250 ns: most of the decoding of a small message
 * (protobufjs 7.6 on Node 20-26). For responses whose defaults hold a Buffer at any depth, this
 * decodes without defaults (`loadSparse`: the same files loaded with `defaults: false`) and
 * completes the message from what proto-loader gives for an empty one. The result is what
 * proto-loader returns, key order included; every other response keeps proto-loader's decoder.
 * Types whose defaults cannot be copied (a `Long`; `google.protobuf.Any` under `json`) and the
 * types that nest them are left to proto-loader.
 */
export function withCompletedDefaults(loaded: PackageDefinition, loadSparse: () => PackageDefinition, options: Options): PackageDefinition {
  const first = Object.values(loaded).find((d) => 'format' in d && d.format === 'Protocol Buffer 3 DescriptorProto');
  const index = shapesOf(first);
  if (!index) return loaded;
  const byType = completions(loaded, index, options);
  let sparse: PackageDefinition | undefined;
  const result: PackageDefinition = { ...loaded };
  for (const [serviceName, service] of Object.entries(loaded)) {
    if ('format' in service) continue;
    const methods: Record<string, MethodDefinition<object, object>> = { ...service };
    let changed = false;
    for (const [methodName, method] of Object.entries(service)) {
      const output = index.outputs.get(method.path.slice(1));
      const found = output === undefined ? undefined : byType.get(output);
      if (!found?.buffers) continue;
      sparse ??= loadSparse();
      const decode = (sparse[serviceName] as Record<string, MethodDefinition<object, object>>)[methodName]!.responseDeserialize;
      const completion = found.completion;
      methods[methodName] = { ...method, responseDeserialize: (bytes: Buffer) => complete(completion, decode(bytes) as Message) };
      changed = true;
    }
    if (changed) result[serviceName] = methods;
  }
  return result;
}
