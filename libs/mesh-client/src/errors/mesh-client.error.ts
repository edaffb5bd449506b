import { Metadata } from '@grpc/grpc-js';
import type { MeshErrorCategory } from './error-category.js';
import { causeWithoutSecrets } from './describe-thrown.js';
import { safeText } from './safe-text.js';

const BRAND = Symbol.for('@datapunk/mesh-client/MeshClientError');
const LOCAL = Symbol('@datapunk/mesh-client/local');

/** Everything a `MeshClientError` is built from. */
export interface MeshClientErrorInit {
  code: number;
  codeName: string;
  category: MeshErrorCategory;
  retryable: boolean;
  attempts: number;
  client: string;
  service: string;
  method: string;
  details: string;
  trailers?: Metadata;
  cause?: unknown;
  /** Extra sentence appended to the message, e.g. how to fix it. */
  hint?: string;
  /**
   * @internal The failure happened on this side (the caller's request or stream, a plugin): it
   * carries no verdict on the server, so it is never retried, nor counted by the breaker or the
   * retry budget.
   */
  local?: boolean;
}

/**
 * The only error a mesh call ever delivers to its subscriber.
 *
 * @example
 * client.unary('GetItem', { id }).subscribe({
 *   error: (e: MeshClientError) => e.category === 'not-found' ? show404() : rethrow(e),
 * });
 */
export class MeshClientError extends Error {
  /** gRPC status code (a `grpc.status` value; UNKNOWN for anything outside 0..16). */
  readonly code: number;
  /** Status name, e.g. 'UNAVAILABLE'. */
  readonly codeName: string;
  /** What kind of failure it was (docs/reference/errors.md): branch on this rather than on `code`. */
  readonly category: MeshErrorCategory;
  /** True when sending the same request again later may succeed. */
  readonly retryable: boolean;
  /** Attempts made on the wire, the first included (0 when the call never left the process). */
  readonly attempts: number;
  /** Name of the mesh client that made the call. */
  readonly client: string;
  /** Fully qualified proto service, e.g. 'demo.Inventory'. */
  readonly service: string;
  /** RPC name, e.g. 'GetItem'. */
  readonly method: string;
  /**
   * Status details as sent by the server, raw (the message quotes at most 1 KiB of them, control
   * characters escaped), or produced locally.
   */
  readonly details: string;
  /** Trailing metadata of the failed call, when the server sent any. */
  readonly trailers?: Metadata;
  /** The original error (grpc-js's `ServiceError`, or what a plugin or the caller's stream threw), when there is one. */
  declare readonly cause?: unknown;

  /** @internal built by the library (`MeshClientErrorInit` is not exported). */
  constructor(init: MeshClientErrorInit) {
    const head = `[${init.client}] /${init.service}/${init.method} failed: ${init.codeName} (${String(init.code)})`;
    const tail = init.hint ? ` ${init.hint}` : '';
    super(`${head}: ${init.details ? safeText(init.details) : 'no details'}${tail}`, { cause: causeWithoutSecrets(init.cause) });
    this.name = 'MeshClientError';
    this.code = init.code;
    this.codeName = init.codeName;
    this.category = init.category;
    this.retryable = init.retryable;
    this.attempts = init.attempts;
    this.client = init.client;
    this.service = init.service;
    this.method = init.method;
    this.details = init.details;
    if (init.trailers) this.trailers = init.trailers;
    if (init.local) Object.defineProperty(this, LOCAL, { value: true });
  }

  /**
   * The trailers as grpc-js's `ServiceError` has them (`code`, `details`, `metadata`), so error
   * handlers written against Nest's `ClientGrpc` keep working: `err.metadata.get('x-reason')`.
   * The same object as `trailers`; an empty `Metadata` when the server sent none (made on first
   * read, so refusals that nobody inspects cost nothing).
   */
  get metadata(): Metadata {
    if (this.trailers) return this.trailers;
    const empty = new Metadata();
    Object.defineProperty(this, 'metadata', { value: empty, enumerable: false });
    return empty;
  }

  /** @internal brand checked by {@link isMeshClientError}, survives duplicated package copies. */
  get [BRAND](): true {
    return true;
  }
}

/** True for a `MeshClientError`, also one thrown by another copy of this package. */
export function isMeshClientError(value: unknown): value is MeshClientError {
  return hasBrand(value, BRAND);
}

/** @internal true for a failure on this side of the call (see MeshClientErrorInit.local). */
export function isLocalFailure(value: unknown): boolean {
  return hasBrand(value, LOCAL);
}

/**
 * @internal whether `value` is an Error carrying `brand`. Never throws: these predicates read
 * values of callers and plugins, and one whose reads throw (a hostile Proxy) is simply not branded.
 */
export function hasBrand(value: unknown, brand: symbol): boolean {
  if (typeof value !== 'object' || value === null) return false;
  try {
    // its own fields must read too (a Proxy around a real error may throw on them)
    return (value as Record<symbol, unknown>)[brand] === true && value instanceof Error && typeof value.message === 'string';
  } catch {
    return false;
  }
}
