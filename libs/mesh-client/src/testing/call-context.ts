import { Metadata } from '@grpc/grpc-js';
import { describeThrown } from '../errors/describe-thrown.js';
import type { FakeContext, FakeMetadata } from './fake.interface.js';

/** Headers every grpc-js client sends, left out of what the fake records. */
const TRANSPORT_KEYS = new Set(['user-agent', 'grpc-accept-encoding', 'accept-encoding', 'grpc-encoding', 'content-type', 'te']);

/** Request metadata as a plain record (see {@link FakeMetadata}). */
export function plainMetadata(metadata: Metadata): FakeMetadata {
  const record: FakeMetadata = {};
  for (const [key, values] of Object.entries(metadata.toJSON())) {
    if (TRANSPORT_KEYS.has(key) || values.length === 0) continue;
    record[key] = values.every((v) => typeof v === 'string') ? values.join(', ') : values[0]!;
  }
  return record;
}

/** Milliseconds until `deadline` (grpc-js gives a Date, or Infinity for none). */
export function msLeft(deadline: Date | number): number {
  const at = deadline instanceof Date ? deadline.getTime() : deadline;
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : Infinity;
}

/** What the context reads of a grpc-js server call (every kind has it). */
export interface SurfaceCall {
  readonly cancelled: boolean;
  getDeadline(): Date | number;
  sendMetadata(metadata: Metadata): void;
}

/** A handler's context and the means to send the headers it set. */
export interface CallContext {
  readonly ctx: FakeContext;
  /** Sends the headers set so far, once (before the first response or the status). */
  flushHeaders(): void;
}

/** The context of one call: its metadata, live deadline, abort signal and response headers. */
export function createCallContext(call: SurfaceCall, method: string, metadata: FakeMetadata, signal: AbortSignal): CallContext {
  const headers = new Metadata();
  let sent = false;
  const ctx: FakeContext = {
    method,
    metadata,
    signal,
    get deadlineLeftMs() {
      return msLeft(call.getDeadline());
    },
    setHeader(key, value) {
      if (sent) throw new Error(`ctx.setHeader('${key}'): the headers of ${method} were already sent (set them before the first response)`);
      try {
        headers.add(key, value);
      } catch (error) {
        throw new Error(`ctx.setHeader('${String(key).slice(0, 64)}'): ${describeThrown(error)}`, { cause: error });
      }
    },
  };
  return {
    ctx,
    flushHeaders() {
      if (sent) return;
      sent = true;
      if (Object.keys(headers.toJSON()).length > 0 && !call.cancelled) call.sendMetadata(headers);
    },
  };
}
