import type { Client, ClientReadableStream, ClientWritableStream, Metadata, ServiceError } from '@grpc/grpc-js';
import { connectivityState, status as Status } from '@grpc/grpc-js';
import { Observable, type Subscriber } from 'rxjs';
import { describeThrown } from '../errors/describe-thrown.js';
import { localError, toMeshError } from '../errors/to-mesh-error.js';
import { withoutStackTrace } from '../errors/without-stack-trace.js';
import type { ChannelLease, ChannelPool } from './channel-pool.js';
import type { MethodInfo } from './method-table.js';

/** One attempt of a call on the wire: what every call kind needs. */
export interface Attempt {
  /** Where the channel comes from: the attempt leases the current one for its lifetime. */
  readonly channels: ChannelPool;
  readonly method: MethodInfo;
  /** The request message (unary, server-stream) or the Observable of request messages. */
  readonly request: unknown;
  readonly metadata: Metadata;
  /** Epoch milliseconds. */
  readonly deadline: number;
  /** 1-based number of this attempt. */
  readonly attempt: number;
  /** Fail with UNAVAILABLE when no connection is up this long after the start (0 = off). */
  readonly connectTimeoutMs?: number;
}

type Callback = (error: ServiceError | null, value?: unknown) => void;

/** The wire side of one attempt: whether grpc-js already ended the call (nothing to cancel then). */
interface WireState {
  ended: boolean;
}

function settle<T>(subscriber: Subscriber<T>, a: Attempt, state: WireState): Callback {
  return (error, value) => {
    state.ended = true;
    if (error) subscriber.error(toMeshError(error, a.method.site, a.attempt));
    else {
      subscriber.next(value as T);
      subscriber.complete();
    }
  };
}

function pipeResponses<T>(stream: ClientReadableStream<unknown>, subscriber: Subscriber<T>, a: Attempt, state: WireState): void {
  stream.on('data', (value: T) => subscriber.next(value));
  stream.on('error', (error: ServiceError) => {
    state.ended = true;
    subscriber.error(toMeshError(error, a.method.site, a.attempt));
  });
  stream.on('end', () => {
    state.ended = true;
    subscriber.complete();
  });
}

/** Writes the request Observable into a call; a failing request stream cancels the call. */
function pipeRequests(call: { write(m: unknown): boolean; end(): void; cancel(): void }, subscriber: Subscriber<unknown>, a: Attempt): void {
  const requests = a.request as Observable<unknown>;
  subscriber.add(
    requests.subscribe({
      next: (message) => call.write(message),
      error: (error: unknown) => {
        const reason = describeThrown(error);
        subscriber.error(localError(a.method.site, Status.CANCELLED, `the request stream failed: ${reason}`, { attempts: a.attempt, cause: error }));
      },
      complete: () => call.end(),
    }),
  );
}

/**
 * grpc-js has no connect timeout: an attempt on a channel that cannot connect waits in its pick
 * queue until the deadline. This fails it with a retryable UNAVAILABLE after `connectTimeoutMs`
 * if the channel is still not connected then. Costs nothing on a connected channel.
 */
function connectTimer(lease: ChannelLease, subscriber: Subscriber<unknown>, a: Attempt): NodeJS.Timeout | undefined {
  const ms = a.connectTimeoutMs;
  if (!ms) return undefined;
  const channel = lease.client.getChannel();
  if (channel.getConnectivityState(false) === connectivityState.READY) return undefined;
  return setTimeout(() => {
    if (channel.getConnectivityState(false) === connectivityState.READY) return;
    const details = `no connection to ${channel.getTarget()} within connectTimeoutMs=${String(ms)}`;
    subscriber.error(localError(a.method.site, Status.UNAVAILABLE, details, { attempts: a.attempt }));
  }, ms);
}

/** Starts the grpc-js call of one attempt and wires its responses to `subscriber`. */
function startCall<T>(channel: Client, a: Attempt, subscriber: Subscriber<T>, state: WireState): { cancel(): void } {
  const { path, serialize, deserialize } = a.method;
  const options = { deadline: a.deadline };
  switch (a.method.kind) {
    case 'unary':
      return channel.makeUnaryRequest(path, serialize, deserialize, a.request, a.metadata, options, settle(subscriber, a, state));
    case 'server-stream': {
      const stream = channel.makeServerStreamRequest(path, serialize, deserialize, a.request, a.metadata, options);
      pipeResponses(stream, subscriber, a, state);
      return stream;
    }
    case 'client-stream':
      return channel.makeClientStreamRequest(path, serialize, deserialize, a.metadata, options, settle(subscriber, a, state));
    case 'bidi': {
      const stream = channel.makeBidiStreamRequest(path, serialize, deserialize, a.metadata, options);
      pipeResponses(stream, subscriber, a, state);
      return stream;
    }
  }
}

/**
 * One attempt as a cold Observable. Unsubscribing before the call ended cancels it on the wire;
 * grpc-js's own CANCELLED report of that arrives after the subscriber closed and is dropped.
 */
export function attempt$<T>(a: Attempt): Observable<T> {
  const kind = a.method.kind;
  return new Observable<T>((subscriber) => {
    const lease = a.channels.acquire();
    const channel = lease.client;
    const timer = connectTimer(lease, subscriber as Subscriber<unknown>, a);
    const state: WireState = { ended: false };
    let call: { cancel(): void } | undefined;
    try {
      // grpc-js records a caller stack per call only to decorate its errors; here it would always
      // point into this function, never at the caller.
      call = withoutStackTrace(() => startCall(channel, a, subscriber, state));
    } catch (error) {
      state.ended = true;
      subscriber.error(localError(a.method.site, Status.UNAVAILABLE, `grpc-js refused to start the call: ${describeThrown(error)}`, { attempts: a.attempt, cause: error }));
    }
    if (call && (kind === 'client-stream' || kind === 'bidi')) pipeRequests(call as ClientWritableStream<unknown>, subscriber as Subscriber<unknown>, a);
    return () => {
      if (timer) clearTimeout(timer);
      if (!state.ended) call?.cancel(); // left early: cancel on the wire
      a.channels.release(lease);
    };
  });
}
