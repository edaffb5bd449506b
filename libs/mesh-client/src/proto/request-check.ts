import type { FieldNaming } from '../config/policies.js';
import type { FieldShape, MessageShape, ShapeIndex, ValueKind } from './message-shapes.js';
import { describeThrown } from '../errors/describe-thrown.js';
import { nearestName } from '../errors/did-you-mean.js';
import { describeValue, fitsScalar } from './value-rules.js';

/** A request that cannot be sent as its message type; the message never quotes field values. */
export class RequestProblem extends Error {
  override readonly name = 'RequestProblem';
}

const MAX_DEPTH = 64;

/** protobufjs' camelCase of a proto field name. */
const camel = (s: string): string => s.charAt(0) + s.slice(1).replace(/_([a-z])(?=[a-z]|$)/g, (_, c: string) => c.toUpperCase());
const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

const EXPECTED: Record<ValueKind, string> = {
  string: 'a string',
  bool: 'true or false',
  bytes: 'a Buffer, Uint8Array or base64 string',
  int32: 'a whole number in the int32 range',
  uint32: 'a whole number in the uint32 range',
  int64: 'a whole number in the int64 range (a number, a string of digits, or a Long)',
  uint64: 'a whole number in the uint64 range (a number, a string of digits, or a Long)',
  float: 'a number',
  enum: 'an enum value (number or name)',
  message: 'an object',
};

/** An object that is a message: a plain object or a class instance, never a built-in such as a Date or a Map. */
function isMessageObject(value: object): boolean {
  if (Array.isArray(value) || value instanceof Uint8Array || value instanceof Date || value instanceof Map || value instanceof Set) return false;
  return !(value instanceof RegExp || value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet || value instanceof Error);
}

/**
 * Checks a request against its message type before anything is sent: every key must be a field
 * (at any depth), every value of the field's type and range, every message an object that holds
 * its fields itself (protobufjs would also read a field from the prototype chain, silently drop an
 * unknown key such as `delay_ms` where the field is `delayMs`, coerce `'abc'` to 0, wrap an int64
 * past its range, and send a Date or a Map as an empty message). A request that throws while it is
 * read (a getter, a Proxy) is refused the same way.
 */
export class RequestCheck {
  private readonly aliases = new WeakMap<MessageShape, ReadonlyMap<string, string>>();

  constructor(
    private readonly index: ShapeIndex,
    private readonly shape: MessageShape,
    private readonly naming: FieldNaming,
  ) {}

  /** The request to serialize: a copy of what was checked, under the loaded field names; throws RequestProblem. */
  check(request: unknown): unknown {
    if (request === undefined) return {};
    try {
      if (typeof request !== 'object' || request === null || !isMessageObject(request)) {
        throw new RequestProblem(`the request must be an object (a ${this.shape.name} message), got ${describeValue(request)}`);
      }
      return this.message(request as Record<string, unknown>, this.shape, 'request', 0);
    } catch (error) {
      if (error instanceof RequestProblem) throw error;
      throw new RequestProblem(`the request could not be read: ${describeThrown(error)}`);
    }
  }

  /**
   * A copy of `value` holding what was checked: each field read once (a getter cannot answer the
   * check one value and the encoder another), under its proto-loaded name.
   */
  private message(value: Record<string, unknown>, shape: MessageShape, path: string, depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) throw new RequestProblem(`${path} is nested deeper than ${String(MAX_DEPTH)} levels (a cycle?)`);
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) this.ownFieldsOnly(value, shape, path);
    const out: Record<string, unknown> = {};
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      const v = value[key];
      if (v === undefined) continue;
      let field = shape.fields.get(key);
      let name = key;
      if (!field) {
        if (shape.oneofs.has(key)) continue;
        const alias = this.naming === 'either' ? this.aliasesOf(shape).get(key) : undefined;
        if (alias === undefined) throw this.unknown(key, shape, path);
        field = shape.fields.get(alias)!;
        name = alias;
      }
      out[name] = this.field(v, field, `${path}.${name}`, depth);
    }
    return out;
  }

  /** A class instance (or an object made from a prototype) must hold its fields itself. */
  private ownFieldsOnly(value: Record<string, unknown>, shape: MessageShape, path: string): void {
    for (const name of shape.fields.keys()) {
      if (!Object.hasOwn(value, name) && value[name] !== undefined) {
        throw new RequestProblem(`${path}.${name} comes from the prototype of ${path}, not from ${path} itself: give it as an own property`);
      }
    }
  }

  private field(value: unknown, field: FieldShape, path: string, depth: number): unknown {
    if (value === null) return value;
    if (field.mapValue) {
      if (typeof value !== 'object' || !isMessageObject(value)) throw this.wrong(path, 'a plain object (a map field)', value);
      return this.entries(value as Record<string, unknown>, field.mapValue, path, depth);
    }
    if (field.repeated) {
      if (!Array.isArray(value)) throw this.wrong(path, 'an array (a repeated field)', value);
      const out = new Array<unknown>(value.length);
      for (let i = 0; i < value.length; i++) out[i] = this.single(value[i], field, `${path}[${String(i)}]`, depth);
      return out;
    }
    return this.single(value, field, path, depth);
  }

  private entries(value: Record<string, unknown>, field: FieldShape, path: string, depth: number): unknown {
    const out: Record<string, unknown> = {};
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      // defined as a data property: a key '__proto__' stays an own key, as proto-loader keeps it
      Object.defineProperty(out, key, {
        value: this.single(value[key], field, `${path}[${JSON.stringify(key).slice(0, 40)}]`, depth),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  private single(value: unknown, field: FieldShape, path: string, depth: number): unknown {
    if (field.kind === 'message') {
      if (value === null || value === undefined) return value;
      if (typeof value !== 'object' || !isMessageObject(value)) throw this.wrong(path, `an object (a ${field.type ?? 'message'} message)`, value);
      const shape = field.type === undefined ? undefined : this.index.messages.get(field.type);
      return shape ? this.message(value as Record<string, unknown>, shape, path, depth + 1) : value;
    }
    if (!fitsScalar(value, field.kind, field.kind === 'enum' ? this.index.enums.get(field.type ?? '') : undefined)) {
      throw this.wrong(path, EXPECTED[field.kind], value);
    }
    return value;
  }

  private aliasesOf(shape: MessageShape): ReadonlyMap<string, string> {
    let map = this.aliases.get(shape);
    if (!map) {
      const built = new Map<string, string>();
      for (const name of shape.fields.keys()) {
        const other = name.includes('_') ? camel(name) : snake(name);
        if (other !== name && !shape.fields.has(other) && (name.includes('_') || camel(other) === name)) built.set(other, name);
      }
      this.aliases.set(shape, (map = built));
    }
    return map;
  }

  private unknown(key: string, shape: MessageShape, path: string): RequestProblem {
    const where = path === 'request' ? '' : ` (at ${path})`;
    const near = nearestName(key, shape.fields.keys());
    const hint = near === undefined ? `; its fields: ${[...shape.fields.keys()].join(', ') || 'none'}` : `; did you mean '${near}'?`;
    return new RequestProblem(`'${key.slice(0, 64)}' is not a field of ${shape.name}${where}${hint}`);
  }

  private wrong(path: string, expected: string, value: unknown): RequestProblem {
    return new RequestProblem(`${path} must be ${expected}, got ${describeValue(value)}`);
  }
}
