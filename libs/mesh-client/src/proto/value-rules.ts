import type { ValueKind } from './message-shapes.js';

const INT = /^-?\d+$/;
const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const UINT64_MAX = 2n ** 64n - 1n;

/** What a value is, for a message that must not quote it (values may be secrets): its type, never its content. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (Buffer.isBuffer(value)) return 'a Buffer';
  if (typeof value === 'number') {
    if (Number.isInteger(value)) return 'a whole number';
    return Number.isFinite(value) ? 'a number with a fraction' : String(value);
  }
  if (typeof value !== 'object') return `a ${typeof value}`;
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' && name !== 'Object' ? `a ${name.slice(0, 40)}` : 'an object';
}

function inRange(value: unknown, min: number, max: number): boolean {
  const n = typeof value === 'string' && INT.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) && n >= min && n <= max;
}

/**
 * A 64-bit integer: a whole number (as exact as a double holds it), a string of digits or a Long,
 * within [min, max]. A bigint is no such value: protobufjs would read it as 0.
 */
function fits64(value: unknown, min: bigint, max: bigint): boolean {
  if (typeof value === 'number') return Number.isInteger(value) && BigInt(value) >= min && BigInt(value) <= max;
  if (typeof value === 'string') return INT.test(value) && value.length <= 21 && BigInt(value) >= min && BigInt(value) <= max;
  return isLong(value);
}

function isLong(value: unknown): boolean {
  return (
    typeof value === 'object' &&
    value !== null &&
    Number.isInteger((value as { low?: unknown }).low) &&
    Number.isInteger((value as { high?: unknown }).high)
  );
}

/**
 * A Long-like value (`{ low, high, unsigned }`) read once, as a plain object: what is checked is
 * what is encoded (a getter cannot answer the check one number and the encoder another).
 */
export function longSnapshot(value: object): { low: number; high: number; unsigned: boolean } | undefined {
  const { low, high, unsigned } = value as { low?: unknown; high?: unknown; unsigned?: unknown };
  return Number.isInteger(low) && Number.isInteger(high) ? { low: low as number, high: high as number, unsigned: unsigned === true } : undefined;
}

const isString = (value: unknown): boolean => typeof value === 'string';

/**
 * The test of what protobufjs' `fromObject` reads, exactly, for a scalar field of `kind` (an enum
 * field: of the enum whose value names are `enumNames`). Made once per field; 'message' passes all.
 */
export function scalarTest(kind: ValueKind, enumNames: ReadonlySet<string> | undefined): (value: unknown) => boolean {
  switch (kind) {
    case 'string':
      return isString;
    case 'bool':
      return (value) => typeof value === 'boolean';
    case 'bytes':
      return (value) => typeof value === 'string' || value instanceof Uint8Array;
    case 'float':
      return (value) => typeof value === 'number' || (typeof value === 'string' && value.trim() !== '' && !Number.isNaN(Number(value)));
    case 'int32':
      return (value) => inRange(value, -2_147_483_648, 2_147_483_647);
    case 'uint32':
      return (value) => inRange(value, 0, 4_294_967_295);
    case 'int64':
      return (value) => fits64(value, INT64_MIN, INT64_MAX);
    case 'uint64':
      return (value) => fits64(value, 0n, UINT64_MAX);
    case 'enum':
      // an enum is an int32 on the wire (a larger number would be sent truncated)
      return (value) =>
        (typeof value === 'number' && Number.isInteger(value) && value >= -2_147_483_648 && value <= 2_147_483_647) ||
        (typeof value === 'string' && (enumNames?.has(value) ?? true));
    case 'message':
      return () => true;
  }
}
