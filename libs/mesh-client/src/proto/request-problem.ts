import { nearestName } from '../errors/did-you-mean.js';
import type { MessageShape, ValueKind } from './message-shapes.js';
import { describeValue } from './value-rules.js';

/** A request that cannot be sent as its message type; the message never quotes field values. */
export class RequestProblem extends Error {
  override readonly name = 'RequestProblem';
}

/** What a value of each kind must be, as the request check's errors say it. */
export const EXPECTED: Record<ValueKind, string> = {
  string: 'a string',
  bool: 'true or false',
  bytes: 'a Buffer, Uint8Array or base64 string',
  int32: 'a whole number in the int32 range',
  uint32: 'a whole number in the uint32 range',
  int64: 'a whole number in the int64 range (a number, a string of digits, or a Long)',
  uint64: 'a whole number in the uint64 range (a number, a string of digits, or a Long)',
  float: 'a number',
  enum: 'an enum value (an int32 number or a name)',
  message: 'an object',
};

/** A value that is not what its field takes; the message names its type, never its content. */
export function wrong(path: string, expected: string, value: unknown): RequestProblem {
  return new RequestProblem(`${path} must be ${expected}, got ${describeValue(value)}`);
}

/** A key that is no field of the message, with the nearest field's name when one is near. */
export function unknownField(key: string, shape: MessageShape, path: string): RequestProblem {
  const where = path === 'request' ? '' : ` (at ${path})`;
  const near = nearestName(key, shape.fields.keys());
  const hint = near === undefined ? `; its fields: ${[...shape.fields.keys()].join(', ') || 'none'}` : `; did you mean '${near}'?`;
  return new RequestProblem(`'${key.slice(0, 64)}' is not a field of ${shape.name}${where}${hint}`);
}

/** protobufjs' camelCase of a proto field name. */
const camel = (s: string): string => s.charAt(0) + s.slice(1).replace(/_([a-z])(?=[a-z]|$)/g, (_, c: string) => c.toUpperCase());
const snake = (s: string): string => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The other spelling of each field name a request may use under `fieldNames: 'either'`. */
export function aliasesOf(shape: MessageShape): Map<string, string> {
  const aliases = new Map<string, string>();
  for (const name of shape.fields.keys()) {
    const other = name.includes('_') ? camel(name) : snake(name);
    if (other !== name && !shape.fields.has(other) && (name.includes('_') || camel(other) === name)) aliases.set(other, name);
  }
  return aliases;
}
