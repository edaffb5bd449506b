import { Metadata, status } from '@grpc/grpc-js';
import { nearestName } from '../errors/did-you-mean.js';
import { describeThrown } from '../errors/describe-thrown.js';
import { STATUS_TABLE } from '../errors/error-category.js';
import { MeshConfigError } from '../errors/mesh-config.error.js';

const BRAND = Symbol.for('@datapunk/mesh-client/testing/FakeStatus');
const NAMES = Object.values(STATUS_TABLE)
  .map((row) => row.codeName)
  .filter((name) => name !== 'OK');

/**
 * A failing gRPC status code given by number (1..16) or name ('UNAVAILABLE'). Throws a
 * MeshConfigError naming the accepted names; `where` says which call was given it.
 */
export function statusCodeOf(where: string, code: unknown): status {
  if (typeof code === 'number' && Number.isInteger(code) && code >= 1 && code <= 16) return code as status;
  if (typeof code === 'string' && NAMES.includes(code)) return status[code as keyof typeof status];
  const near = typeof code === 'string' ? nearestName(code, NAMES) : undefined;
  const got = typeof code === 'string' ? `'${code.slice(0, 40)}'` : describeThrown(code);
  throw new MeshConfigError(
    `${where}: code must be a failing gRPC status, a number 1..16 or a name (${near ? `did you mean '${near}'? ` : ''}one of ${NAMES.join(', ')}), got ${got}` +
      (code === 0 || code === 'OK' ? ' (OK is no failure: return the response instead)' : ''),
  );
}

/** The error `fakeStatus()` makes: the fake answers the call with its code, details and trailers. */
export class FakeStatusError extends Error {
  constructor(
    readonly code: status,
    readonly details: string,
    readonly trailers: Metadata,
  ) {
    super(`${STATUS_TABLE[code]!.codeName}: ${details}`);
    this.name = 'FakeStatusError';
  }

  /** @internal brand checked by {@link isFakeStatus}. */
  get [BRAND](): true {
    return true;
  }
}

/** True for an error made by {@link fakeStatus} (also by another copy of this package). */
export function isFakeStatus(value: unknown): value is FakeStatusError {
  return typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[BRAND] === true;
}

/**
 * An error that, thrown by a handler (or given to `sendAfter`), makes the fake answer with this
 * status: `code` by number or name, `details` (default: the code's name), `trailers` as a record.
 *
 * @example
 * GetItem: ({ id }) => { if (id === 'gone') throw fakeStatus('NOT_FOUND', `no item ${id}`, { 'x-reason': 'deleted' }); ... }
 */
export function fakeStatus(code: status | string, details?: string, trailers?: Record<string, string | Buffer>): Error {
  const checked = statusCodeOf('fakeStatus()', code);
  const metadata = new Metadata();
  for (const [key, value] of Object.entries(trailers ?? {})) {
    try {
      metadata.add(key, value);
    } catch (error) {
      throw new MeshConfigError(`fakeStatus(): trailer '${key.slice(0, 64)}' cannot be sent: ${describeThrown(error)}`, { cause: error });
    }
  }
  return new FakeStatusError(checked, details ?? STATUS_TABLE[checked]!.codeName, metadata);
}
