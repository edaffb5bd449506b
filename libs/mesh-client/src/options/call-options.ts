import { describeThrown } from '../errors/describe-thrown.js';
import { didYouMean } from '../errors/did-you-mean.js';
import { MAX_TIMER_MS } from '../config/defaults.js';
import { isGrpcMetadata } from '../security/metadata.js';
import type { CallOptions } from '../config/call-options.interface.js';

const KEYS = [
  'timeoutMs',
  'deadline',
  'metadata',
  'retry',
  'signal',
  'onHeader',
  'onTrailer',
  'waitForReady',
] as const satisfies readonly (keyof CallOptions)[];
const KNOWN: ReadonlySet<string> = new Set(KEYS);

/** What a value is, never what it holds (values may be secrets). */
const kindOf = (value: unknown): string => {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value !== 'object') return `a ${typeof value}`;
  const name = (Object.getPrototypeOf(value) as { constructor?: { name?: unknown } } | null)?.constructor?.name;
  return typeof name === 'string' && name !== 'Object' ? `a ${name.slice(0, 40)}` : 'an object';
};

/** An object literal (or one without a prototype): not a Map, a class instance or a Buffer. */
function isPlainRecord(value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/**
 * Why `options` cannot be a call's options, or undefined when they can: unknown keys (with the
 * nearest known one), wrong types, out-of-range timeouts. Values are described, never quoted.
 */
export function callOptionsProblem(options: unknown): string | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    return `call options must be an object (CallOptions) or a grpc-js Metadata, got ${kindOf(options)}`;
  }
  const o = options as Record<string, unknown>;
  for (const key in o)
    if (!KNOWN.has(key) && o[key] !== undefined)
      return `CallOptions.${key.slice(0, 64)} is not an option${didYouMean(key, KEYS)}; known options: ${KEYS.join(', ')}`;
  const { timeoutMs, deadline, metadata, signal, onHeader, onTrailer, waitForReady } = o;
  if (timeoutMs !== undefined && !(typeof timeoutMs === 'number' && timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
    return `CallOptions.timeoutMs must be a number > 0 and <= ${String(MAX_TIMER_MS)}, got ${typeof timeoutMs === 'number' ? String(timeoutMs) : kindOf(timeoutMs)}`;
  }
  if (deadline !== undefined && !(deadline instanceof Date && !Number.isNaN(deadline.getTime())))
    return `CallOptions.deadline must be a valid Date, got ${deadline instanceof Date ? 'an Invalid Date' : kindOf(deadline)}`;
  if (deadline !== undefined && (deadline as Date).getTime() - Date.now() > MAX_TIMER_MS)
    return `CallOptions.deadline must be at most ${String(MAX_TIMER_MS)} ms (about 24.8 days) from now`;
  if (metadata !== undefined && !isGrpcMetadata(metadata) && !isPlainRecord(metadata)) {
    return `CallOptions.metadata must be a record of strings (Buffers for '-bin' keys) or a grpc-js Metadata, got ${kindOf(metadata)}`;
  }
  const s = signal as Partial<AbortSignal> | undefined;
  if (
    s !== undefined &&
    !(
      typeof s === 'object' &&
      s !== null &&
      typeof s.aborted === 'boolean' &&
      typeof s.addEventListener === 'function' &&
      typeof s.removeEventListener === 'function'
    )
  ) {
    return `CallOptions.signal must be an AbortSignal, got ${kindOf(signal)}`;
  }
  if (onHeader !== undefined && typeof onHeader !== 'function') return `CallOptions.onHeader must be a function, got ${kindOf(onHeader)}`;
  if (onTrailer !== undefined && typeof onTrailer !== 'function') return `CallOptions.onTrailer must be a function, got ${kindOf(onTrailer)}`;
  if (waitForReady !== undefined && typeof waitForReady !== 'boolean')
    return `CallOptions.waitForReady must be true or false, got ${kindOf(waitForReady)}`;
  return undefined;
}

/**
 * The call's options, read once: every key of the caller's object is read a single time into a
 * copy (unknown keys refused), a `deadline` becomes a plain Date of the time it held (read through
 * Date's own method, so a subclass cannot change it later), and the copy is what is checked and
 * used; or why they cannot be a call's options. An object that throws while read (a getter, a
 * Proxy) is refused, never thrown on.
 */
export function readCallOptions(options: unknown): CallOptions | string {
  try {
    if (typeof options !== 'object' || options === null || Array.isArray(options)) return callOptionsProblem(options)!;
    const copy: Record<string, unknown> = {};
    for (const key in options) {
      const value = (options as Record<string, unknown>)[key];
      if (value === undefined) continue;
      if (!KNOWN.has(key)) return `CallOptions.${key.slice(0, 64)} is not an option${didYouMean(key, KEYS)}; known options: ${KEYS.join(', ')}`;
      copy[key] = value;
    }
    if (copy.deadline !== undefined) {
      let time: number;
      try {
        time = Date.prototype.getTime.call(copy.deadline as Date);
      } catch {
        return `CallOptions.deadline must be a valid Date, got ${kindOf(copy.deadline)}`;
      }
      copy.deadline = new Date(time);
    }
    return callOptionsProblem(copy) ?? (copy as CallOptions);
  } catch (error) {
    return `the call options could not be read: ${describeThrown(error)}`;
  }
}

/**
 * The options of an `iterate()` call: its `highWaterMark` (a whole number >= 1, when given) and
 * the call's own options, read once; or why they cannot be.
 */
export function readIterateOptions(options: unknown): { highWaterMark: number | undefined; call: CallOptions | undefined } | string {
  if (options === undefined) return { highWaterMark: undefined, call: undefined };
  let highWaterMark: unknown;
  let call: Record<string, unknown>;
  try {
    ({ highWaterMark, ...call } = options as Record<string, unknown>);
  } catch (error) {
    return `the call options could not be read: ${describeThrown(error)}`;
  }
  if (highWaterMark !== undefined && !(Number.isInteger(highWaterMark) && (highWaterMark as number) >= 1)) {
    return `IterateOptions.highWaterMark must be a whole number >= 1, got ${typeof highWaterMark === 'number' ? String(highWaterMark) : kindOf(highWaterMark)}`;
  }
  return { highWaterMark: highWaterMark as number | undefined, call: call as CallOptions };
}

/**
 * The call options of a `getService()` method's second argument: CallOptions, or a grpc-js
 * Metadata as Nest's ClientGrpc and ts-proto's `nestJs=true` clients pass it.
 */
export function toCallOptions(arg: unknown): CallOptions | undefined {
  return isGrpcMetadata(arg) ? { metadata: arg } : (arg as CallOptions | undefined);
}

/**
 * What is wrong with the security context's `deadline` (the incoming request's, set by the
 * interceptor or by `MeshContext.run` / `set`), or undefined: a call may only take a valid Date.
 */
export function inheritedDeadlineProblem(deadline: unknown): string | undefined {
  if (deadline === undefined || (deadline instanceof Date && !Number.isNaN(deadline.getTime()))) return undefined;
  const got = deadline instanceof Date ? 'an Invalid Date' : kindOf(deadline);
  return `the security context's deadline (MeshContext) must be a valid Date, got ${got}`;
}
