import { once } from 'node:events';
import type { ServerReadableStream, ServerWritableStream } from '@grpc/grpc-js';
import { AsyncQueue } from './async-queue.js';
import type { CallContext } from './call-context.js';
import type { FakeMethod } from './fake-service.js';
import type { CallFaults } from './fault-script.js';
import { streamOf } from './handler-results.js';

/** The request stream of a client- or bidi-streaming call, read eagerly so that every message is recorded. */
export function requestStream(call: ServerReadableStream<unknown, unknown>, into: unknown[]): AsyncQueue<unknown> {
  const queue = new AsyncQueue<unknown>();
  call.on('data', (message: unknown) => {
    into.push(message);
    queue.push(message);
  });
  call.on('end', () => queue.end());
  call.on('error', (error: unknown) => queue.fail(error));
  call.once('cancelled', () => queue.end());
  return queue;
}

/** Writes a handler's responses (applying `sendAfter`), then ends the stream. */
export async function writeAll(
  call: ServerWritableStream<unknown, unknown>,
  method: FakeMethod,
  responses: unknown,
  cc: CallContext,
  limit: CallFaults['sendAfter'],
): Promise<void> {
  const signal = cc.ctx.signal;
  let sent = 0;
  if (limit?.count === 0) throw limit.error;
  for await (const response of await streamOf(responses, signal)) {
    if (signal.aborted) return;
    const checked = method.checkResponse(response);
    cc.flushHeaders();
    if (!call.write(checked)) await once(call, 'drain', { signal });
    if (limit && ++sent >= limit.count) throw limit.error;
  }
  if (limit) throw limit.error;
  if (signal.aborted) return;
  cc.flushHeaders();
  call.end();
}
