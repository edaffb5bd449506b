import { didYouMean } from '../errors/did-you-mean.js';
import { MAX_TIMER_MS } from '../config/defaults.js';
import { isGrpcMetadata } from '../security/metadata.js';
import type { CallOptions } from './call-options.interface.js';

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

const kindOf = (value: unknown): string => (value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`);

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
    return `CallOptions.deadline must be a valid Date, got ${kindOf(deadline)}`;
  if (
    metadata !== undefined &&
    !isGrpcMetadata(metadata) &&
    (typeof metadata !== 'object' || metadata === null || Array.isArray(metadata) || Buffer.isBuffer(metadata))
  ) {
    return `CallOptions.metadata must be a record of strings (Buffers for '-bin' keys) or a grpc-js Metadata, got ${kindOf(metadata)}`;
  }
  const s = signal as Partial<AbortSignal> | undefined;
  if (s !== undefined && !(typeof s === 'object' && s !== null && typeof s.aborted === 'boolean' && typeof s.addEventListener === 'function')) {
    return `CallOptions.signal must be an AbortSignal, got ${kindOf(signal)}`;
  }
  if (onHeader !== undefined && typeof onHeader !== 'function') return `CallOptions.onHeader must be a function, got ${kindOf(onHeader)}`;
  if (onTrailer !== undefined && typeof onTrailer !== 'function') return `CallOptions.onTrailer must be a function, got ${kindOf(onTrailer)}`;
  if (waitForReady !== undefined && typeof waitForReady !== 'boolean')
    return `CallOptions.waitForReady must be true or false, got ${kindOf(waitForReady)}`;
  return undefined;
}

/**
 * The call options of a `getService()` method's second argument: CallOptions, or a grpc-js
 * Metadata as Nest's ClientGrpc and ts-proto's `nestJs=true` clients pass it.
 */
export function toCallOptions(arg: unknown): CallOptions | undefined {
  return isGrpcMetadata(arg) ? { metadata: arg } : (arg as CallOptions | undefined);
}
