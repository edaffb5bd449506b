import descriptor from 'protobufjs/ext/descriptor/index.js';

/** What a field's value must be, as protobufjs' `fromObject` reads it. */
export type ValueKind = 'string' | 'bool' | 'bytes' | 'int32' | 'uint32' | 'int64' | 'uint64' | 'float' | 'enum' | 'message';

/** One field of a message, under the name it was loaded with. */
export interface FieldShape {
  readonly name: string;
  readonly kind: ValueKind;
  /** Full name of the message or enum type (kind 'message' / 'enum'). */
  readonly type: string | undefined;
  readonly repeated: boolean;
  /** The value of a map field (`map<k, v>`): its kind and type. */
  readonly mapValue: FieldShape | undefined;
  /** The oneof it belongs to (not a proto3 `optional`'s own), if any. */
  readonly oneof?: string;
}

/** The fields of one message type. */
export interface MessageShape {
  /** Full name, e.g. 'mesh.test.EchoRequest'. */
  readonly name: string;
  readonly fields: ReadonlyMap<string, FieldShape>;
  /** Names of its oneofs (proto-loader's `oneofs: true` adds them to responses; they may come back). */
  readonly oneofs: ReadonlySet<string>;
}

/** Every message and enum of a set of proto files, by full name. */
export interface ShapeIndex {
  readonly messages: ReadonlyMap<string, MessageShape>;
  /** Value names of each enum, by full name. */
  readonly enums: ReadonlyMap<string, ReadonlySet<string>>;
  /** Request type of each RPC, keyed `package.Service/Method`. */
  readonly inputs: ReadonlyMap<string, string>;
  /** Response type of each RPC, keyed `package.Service/Method`. */
  readonly outputs: ReadonlyMap<string, string>;
}

const KIND: Record<number, ValueKind> = {
  1: 'float',
  2: 'float',
  3: 'int64',
  4: 'uint64',
  5: 'int32',
  6: 'uint64',
  7: 'uint32',
  8: 'bool',
  9: 'string',
  11: 'message',
  12: 'bytes',
  13: 'uint32',
  14: 'enum',
  15: 'int32',
  16: 'int64',
  17: 'int32',
  18: 'int64',
};
const LABEL_REPEATED = 3;

interface FieldProto {
  name: string;
  number: number;
  type: number;
  typeName: string;
  label: number;
  /** Set only on a oneof's members (the decoded message's default is 0: read it as an own property). */
  oneofIndex?: number;
  proto3Optional?: boolean;
}
interface MessageProto {
  name: string;
  field: FieldProto[];
  nestedType: MessageProto[];
  enumType: EnumProto[];
  oneofDecl: { name: string }[];
  options?: { mapEntry?: boolean };
}
interface EnumProto {
  name: string;
  value: { name: string }[];
}
interface ServiceProto {
  name: string;
  method: { name: string; inputType: string; outputType: string }[];
}
interface FileProto {
  package: string;
  messageType: MessageProto[];
  enumType: EnumProto[];
  service: ServiceProto[];
}

const strip = (typeName: string): string => (typeName.startsWith('.') ? typeName.slice(1) : typeName);

/**
 * The full name of a type named in scope `scope` (a message's full name): absolute names start
 * with '.', others are looked up from the innermost scope outwards, as protoc does (protobufjs
 * writes them relative).
 */
function resolveType(typeName: string, scope: string, known: (name: string) => boolean): string {
  if (typeName.startsWith('.')) return strip(typeName);
  const parts = scope.split('.');
  for (let i = parts.length; i >= 0; i--) {
    const candidate = [...parts.slice(0, i), typeName].join('.');
    if (known(candidate)) return candidate;
  }
  return typeName;
}

/**
 * Reads the message shapes out of the serialized FileDescriptorProtos that @grpc/proto-loader
 * attaches to every message type of a package definition. Field names are the ones the files
 * were loaded with (camelCase unless `keepCase`), which is what serialization reads.
 */
export function indexShapes(fileDescriptorProtos: readonly Buffer[]): ShapeIndex {
  const files = fileDescriptorProtos.map((bytes) => descriptor.FileDescriptorProto.decode(bytes) as unknown as FileProto);
  const raw = new Map<string, MessageProto>();
  const enums = new Map<string, ReadonlySet<string>>();
  const walk = (prefix: string, messages: MessageProto[], enumTypes: EnumProto[]): void => {
    for (const e of enumTypes) enums.set(`${prefix}${e.name}`, new Set(e.value.map((v) => v.name)));
    for (const m of messages) {
      const name = `${prefix}${m.name}`;
      raw.set(name, m);
      walk(`${name}.`, m.nestedType, m.enumType);
    }
  };
  const inputs = new Map<string, string>();
  const outputs = new Map<string, string>();
  for (const file of files) walk(file.package ? `${file.package}.` : '', file.messageType, file.enumType);
  const known = (name: string): boolean => raw.has(name) || enums.has(name);
  for (const file of files) {
    const pkg = file.package ?? '';
    const prefix = pkg ? `${pkg}.` : '';
    for (const service of file.service)
      for (const m of service.method) {
        inputs.set(`${prefix}${service.name}/${m.name}`, resolveType(m.inputType, pkg, known));
        outputs.set(`${prefix}${service.name}/${m.name}`, resolveType(m.outputType, pkg, known));
      }
  }
  const fieldOf = (f: FieldProto, scope: string): FieldShape => {
    const type = f.typeName ? resolveType(f.typeName, scope, known) : undefined;
    const entry = type === undefined ? undefined : raw.get(type);
    const mapEntry = entry?.options?.mapEntry === true ? entry : undefined;
    const value = mapEntry?.field.find((e) => e.number === 2);
    return {
      name: f.name,
      kind: KIND[f.type] ?? 'message',
      type,
      repeated: f.label === LABEL_REPEATED && !mapEntry,
      mapValue: value && type ? fieldOf(value, type) : undefined,
    };
  };
  const messages = new Map<string, MessageShape>();
  for (const [name, m] of raw) {
    if (m.options?.mapEntry === true) continue;
    const fields = new Map(m.field.map((f) => [f.name, withOneof(fieldOf(f, name), f, m)] as const));
    messages.set(name, { name, fields, oneofs: new Set(m.oneofDecl.map((o) => o.name)) });
  }
  return { messages, enums, inputs, outputs };
}

/** `shape` with the oneof its field `f` of message `m` belongs to (a proto3 `optional` is a oneof of one: none). */
function withOneof(shape: FieldShape, f: FieldProto, m: MessageProto): FieldShape {
  if (!Object.hasOwn(f, 'oneofIndex') || f.proto3Optional === true) return shape;
  const oneof = m.oneofDecl[f.oneofIndex!]?.name;
  return oneof === undefined ? shape : { ...shape, oneof };
}

const cache = new WeakMap<readonly Buffer[], ShapeIndex>();

/**
 * The shape index of the file descriptors proto-loader attaches to a message type; undefined for
 * definitions made without proto-loader (their fields cannot be known). Built once per loaded file
 * set: proto-loader shares one array of file descriptors between every type of one load.
 */
export function shapesOf(messageType: unknown): ShapeIndex | undefined {
  const files = (messageType as { fileDescriptorProtos?: unknown } | undefined)?.fileDescriptorProtos;
  if (!Array.isArray(files) || !files.every((f) => Buffer.isBuffer(f))) return undefined;
  let index = cache.get(files);
  if (!index) {
    index = indexShapes(files);
    cache.set(files, index);
  }
  return index;
}

/** The request shape of the RPC at `path` ('/package.Service/Method'), when {@link shapesOf} knows it. */
export function requestShapeOf(requestType: unknown, path: string): { index: ShapeIndex; shape: MessageShape } | undefined {
  const index = shapesOf(requestType);
  if (!index) return undefined;
  const input = index.inputs.get(path.slice(1));
  const shape = input === undefined ? undefined : index.messages.get(input);
  return shape ? { index, shape } : undefined;
}
