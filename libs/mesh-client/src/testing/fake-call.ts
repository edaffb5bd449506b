import { setTimeout as wait } from 'node:timers/promises';
import {
  status,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type StatusObject,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { RequestProblem } from '../proto/request-problem.js';
import { describeThrown } from '../errors/describe-thrown.js';
import { createCallContext, msLeft, plainMetadata, type CallContext } from './call-context.js';
import type { CallRecorder } from './call-recorder.js';
import { isFakeStatus } from './fake-status.js';
import type { FakeMethod, FakeService } from './fake-service.js';
import type { FakeCall, FakeHandler } from './fake.interface.js';
import type { CallFaults, FaultScript } from './fault-script.js';
import { HandlerResultProblem, singleOf } from './handler-results.js';
import { requestStream, writeAll } from './fake-streams.js';

/** What the calls of one fake share. */
export interface FakeCallDeps {
  readonly service: FakeService;
  readonly handlers: ReadonlyMap<string, FakeHandler>;
  readonly faults: FaultScript;
  readonly recorder: CallRecorder;
  /** Aborted when the fake closes: every call still open ends. */
  readonly closing: AbortSignal;
}

type AnyCall = ServerUnaryCall<unknown, unknown> | ServerReadableStream<unknown, unknown>;
type Answer = { value: unknown } | { status: Partial<StatusObject> };

/** The status a failure answers with: a fakeStatus() as given, the fake's own problems INTERNAL, any other throw UNKNOWN. */
function statusOf(error: unknown, rpc: string): Partial<StatusObject> {
  if (isFakeStatus(error)) return { code: error.code, details: error.details, metadata: error.trailers };
  if (error instanceof RequestProblem || error instanceof HandlerResultProblem) {
    return { code: status.INTERNAL, details: `MeshFake: ${rpc}: ${error.message}` };
  }
  return { code: status.UNKNOWN, details: `MeshFake: the handler of ${rpc} threw: ${describeThrown(error)}` };
}

/** Aborted when the client cancels the call (its deadline included) or the fake closes, until released. */
function callSignal(call: AnyCall, closing: AbortSignal): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const abort = (): void => controller.abort();
  call.once('cancelled', abort);
  if (closing.aborted) abort();
  closing.addEventListener('abort', abort, { once: true });
  // grpc-js reports every stream's close as 'cancelled', answered or not: stop listening once answered
  const release = (): void => {
    call.off('cancelled', abort);
    closing.removeEventListener('abort', abort);
  };
  return { signal: controller.signal, release };
}

/** Waits out a hang or a delay; false when the call ended meanwhile. */
async function waitFaults(faults: CallFaults, signal: AbortSignal): Promise<boolean> {
  if (faults.hang && !signal.aborted) await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  else if (faults.delayMs > 0) await wait(faults.delayMs, undefined, { signal }).catch(() => undefined);
  return !signal.aborted;
}

/**
 * Answers one call: records it, takes its scripted faults, runs the handler and sends what it
 * returned or the status it threw. Never throws: every failure becomes the call's status.
 */
async function answer(
  deps: FakeCallDeps,
  method: FakeMethod,
  call: AnyCall,
  arg: unknown,
  record: FakeCall,
  respond: (a: Answer, cc: CallContext) => void,
): Promise<void> {
  const { signal, release } = callSignal(call, deps.closing);
  const cc = createCallContext(call, method.rpc, record.metadata, signal);
  const faults = deps.faults.take(method.rpc, method.kind);
  const streaming = method.kind === 'server-stream' || method.kind === 'bidi';
  try {
    if (!(await waitFaults(faults, signal))) return;
    if (faults.fail) throw faults.fail;
    const handler = deps.handlers.get(method.rpc);
    if (!handler) {
      const names = method.aliases.map((n) => `handlers.${n}`).join(' or ');
      const details = `MeshFake of ${deps.service.name} has no handler for ${method.rpc} (give ${names})`;
      return respond({ status: { code: status.UNIMPLEMENTED, details } }, cc);
    }
    const result = handler(arg, cc.ctx);
    if (streaming) return await writeAll(call as unknown as ServerWritableStream<unknown, unknown>, method, result, cc, faults.sendAfter);
    const value = method.checkResponse(await singleOf(result, signal));
    if (!signal.aborted) respond({ value }, cc);
  } catch (error) {
    if (!signal.aborted) respond({ status: statusOf(error, method.rpc) }, cc);
  } finally {
    release();
  }
}

/** The grpc-js handler of one method of a fake. */
export function grpcHandlerOf(deps: FakeCallDeps, method: FakeMethod): (call: AnyCall, callback?: sendUnaryData<unknown>) => void {
  return (call, callback) => {
    const metadata = plainMetadata(call.metadata);
    const deadlineLeftMs = msLeft(call.getDeadline());
    const requests: unknown[] = [];
    const readsStream = method.kind === 'client-stream' || method.kind === 'bidi';
    const request = readsStream ? undefined : (call as ServerUnaryCall<unknown, unknown>).request;
    const record: FakeCall = readsStream
      ? { method: method.rpc, requests, metadata, deadlineLeftMs }
      : { method: method.rpc, request, metadata, deadlineLeftMs };
    deps.recorder.record(record);
    const arg = readsStream ? requestStream(call as ServerReadableStream<unknown, unknown>, requests) : request;
    const respond = (a: Answer, cc: CallContext): void => {
      cc.flushHeaders();
      if (callback) return 'value' in a ? callback(null, a.value) : callback(a.status);
      const stream = call as ServerDuplexStream<unknown, unknown>;
      if ('status' in a) stream.emit('error', a.status);
      else stream.end();
    };
    // answer() sends every failure as the status; a throw left here would come from a call grpc-js already ended
    answer(deps, method, call, arg, record, respond).catch(() => undefined);
  };
}
