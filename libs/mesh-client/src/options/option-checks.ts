import { MAX_TIMER_MS } from '../config/defaults.js';
import { nearestName } from '../errors/did-you-mean.js';
import { MeshConfigError } from '../errors/mesh-config.error.js';

/** Renders a bad value for an error message: short, and never the content of a secret. */
export function show(value: unknown): string {
  if (value === undefined) return 'undefined';
  if (typeof value === 'string') return value.length > 60 ? `'${value.slice(0, 57)}...'` : `'${value}'`;
  if (typeof value === 'number' || typeof value === 'boolean' || value === null) return String(value);
  if (typeof value === 'function') return 'a function';
  if (Buffer.isBuffer(value)) return `a Buffer of ${String(value.length)} bytes`;
  if (Array.isArray(value)) return `an array of ${String(value.length)}`;
  return typeof value;
}

/** Describes a value that may be key material by its type only. */
function describeSecret(value: unknown): string {
  if (value === undefined || value === null || Buffer.isBuffer(value)) return show(value);
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}

/**
 * Field checks for one options object. Each throws a `MeshConfigError` whose message starts with
 * the path of the field, e.g. `clients[1].retry.maxAttempts must be an integer 1..5, got 9` (a
 * range `a..b` includes both ends).
 */
export class OptionChecks {
  constructor(readonly path: string) {}

  /** Checks of a nested object, e.g. `at('retry')`. */
  at(field: string): OptionChecks {
    return new OptionChecks(`${this.path}.${field}`);
  }

  fail(field: string, expected: string, got: unknown, opts: { secret?: boolean; cause?: unknown } = {}): never {
    const shown = opts.secret ? describeSecret(got) : show(got);
    throw new MeshConfigError(`${this.where(field)} ${expected}, got ${shown}`, { cause: opts.cause });
  }

  /** The path of a field, e.g. `clients[0].timeoutMs`. */
  where(field: string): string {
    return field ? `${this.path}.${field}` : this.path;
  }

  object(field: string, value: unknown): Record<string, unknown> {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) this.fail(field, 'must be an object', value);
    return value as Record<string, unknown>;
  }

  nonEmptyString(field: string, value: unknown): string {
    if (typeof value !== 'string' || value.trim() === '') this.fail(field, 'must be a non-empty string', value);
    return value;
  }

  boolean(field: string, value: unknown, fallback: boolean): boolean {
    if (value === undefined) return fallback;
    if (typeof value !== 'boolean') this.fail(field, 'must be true or false', value);
    return value;
  }

  /** A number in [min, max]; `integer` also requires a whole number. */
  number(field: string, value: unknown, fallback: number, range: { min: number; max: number; integer?: boolean; exclusiveMin?: boolean }): number {
    if (value === undefined) return fallback;
    const lowOk = typeof value === 'number' && (range.exclusiveMin ? value > range.min : value >= range.min);
    const ok = lowOk && Number.isFinite(value) && (value as number) <= range.max && (!range.integer || Number.isInteger(value));
    if (!ok) {
      const kind = range.integer ? 'an integer' : 'a number';
      const bounds = range.exclusiveMin ? `> ${String(range.min)} and <= ${String(range.max)}` : `${String(range.min)}..${String(range.max)}`;
      this.fail(field, `must be ${kind} ${bounds}`, value);
    }
    return value as number;
  }

  oneOf<T extends string>(field: string, value: unknown, allowed: readonly T[], fallback: T): T {
    if (value === undefined) return fallback;
    if (!allowed.includes(value as T)) this.fail(field, `must be one of ${allowed.map((a) => `'${a}'`).join(', ')}`, value);
    return value as T;
  }

  /** Rejects keys that are not options, naming the closest known one. */
  knownKeys(value: Record<string, unknown>, known: readonly string[]): void {
    for (const key of Object.keys(value)) {
      if (known.includes(key)) continue;
      const near = nearestName(key, known);
      const hint = near === undefined ? '' : ` (did you mean '${near}'?)`;
      throw new MeshConfigError(`${this.where(key.slice(0, 64))} is not an option${hint}; known options: ${known.join(', ')}`);
    }
  }
}

export { MAX_TIMER_MS };
