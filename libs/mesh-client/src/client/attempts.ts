import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import type { Client, ClientWritableStream, Metadata, ServiceError, StatusObject } from '@grpc/grpc-js';
import { connectivityState, status as Status } from '@grpc/grpc-js';
import { Observable, type Subscriber } from 'rxjs';
import { describeThrown } from '../errors/describe-thrown.js';
import { isMeshClientError } from '../errors/mesh-client.error.js';
import { callerError, localError, tlsRefused, toMeshError } from '../errors/to-mesh-error.js';
import type { TlsRefusalCheck } from '../security/tls-refusal.js';
import type { FlowControl } from './flow-control.js';
import { withoutStackTrace } from '../errors/without-stack-trace.js';
import type { ChannelLease, ChannelPool } from './channel-pool.js';
import type { MethodInfo } from './method-table.js';
import { RequestProblem } from './request-check.js';

/** Who wants an attempt's response headers and final status (with trailers). */
export interface AttemptListener {
  /** Returns an error to end the attempt with (a plugin hook failed), or undefined. */
  headers?(headers: Metadata): unknown;
  status?(status: StatusObject): void;
}

/** One attempt of a call on the wire: what every call kind needs. */
export interface Attempt {
  /** Where the channel comes from: the attempt leases the current one for its lifetime. */
  readonly channels: ChannelPool;
  readonly method: MethodInfo;
  /** The encoded request (unary, server-stream) or the Observable of encoded requests. */
  readonly request: Buffer | Observable<Buffer>;
  readonly metadata: Metadata;
  /** Epoch milliseconds. */
  readonly deadline: number;
  /** 1-based number of this attempt. */
  readonly attempt: number;
  /** Fail with UNAVAILABLE when no connection is up this long after the start (0 = off, e.g. waitForReady). */
  readonly connectTimeoutMs?: number;
  /** Listened to only when given. */
  readonly listener?: AttemptListener;
  /** Set by attempt$ from its channel lease. */
  readonly tlsRefusal?: TlsRefusalCheck;
  /** The consumer's flow control of the response stream (iterate()). */
  readonly flow?: FlowControl;
}

/** Requests are encoded (checked, serialized, size-limited) before they reach grpc-js. */
const ENCODED = (bytes: Buffer): Buffer => bytes;

/** The wire side of one attempt. */
interface WireState {
  /** grpc-js already ended the call (nothing to cancel then). */
  ended: boolean;
  /** A single response held until grpc-js reports the status (see settle). */
  holding: boolean;
  held: unknown;
}

type Callback = (error: ServiceError | null, value?: unknown) => void;
/** What an attempt uses of grpc-js's call objects (EventEmitters). */
type Emitter = Pick<EventEmitter, 'on'>;

/**
 * A single response: with a status listener the value is held until grpc-js reports the status
 * (right after its callback; see listen), so trailers are known before the attempt completes.
 */
function settle<T>(subscriber: Subscriber<T>, a: Attempt, state: WireState): Callback {
  const holds = a.listener?.status !== undefined;
  return (error, value) => {
    state.ended = true;
    if (error) return fail(subscriber, a, error);
    if (holds) {
      state.holding = true;
      state.held = value;
      return;
    }
    subscriber.next(value as T);
    subscriber.complete();
  };
}

/** grpc-js's words for a connection that closed before HTTP/2 began (after TLS, if any). */
const CONNECT_FAILURE = /Failed to connect|closed before starting HTTP\/2 handshake/;

/**
 * Ends the attempt with `error`. A TLS client's connection failure is first checked for a refused
 * client certificate (grpc-js cannot tell it from any other dropped connection): that is 'tls', not
 * retryable, instead of 'unavailable'.
 */
function fail(subscriber: Subscriber<unknown>, a: Attempt, error: unknown): void {
  const meshError = toMeshError(error, a.method.site, a.attempt);
  const check = a.tlsRefusal;
  if (!check || meshError.category !== 'unavailable' || !CONNECT_FAILURE.test(meshError.details)) return subscriber.error(meshError);
  void check.refusal().then((reason) => subscriber.error(reason ? tlsRefused(meshError, reason) : meshError));
}

function pipeResponses<T>(stream: Readable, subscriber: Subscriber<T>, a: Attempt, state: WireState): void {
  a.flow?.attach(stream);
  stream.on('data', (value: T) => subscriber.next(value));
  stream.on('error', (error: ServiceError) => {
    state.ended = true;
    fail(subscriber, a, error);
  });
  stream.on('end', () => {
    state.ended = true;
    subscriber.complete();
  });
}

/** The attempt's listener hears headers and the status; a held single response is let go after the status. */
function listen(emitter: Emitter, listener: AttemptListener | undefined, subscriber: Subscriber<unknown>, state: WireState): void {
  if (listener?.headers) {
    emitter.on('metadata', (headers: Metadata) => {
      const error = listener.headers!(headers);
      if (error !== undefined) subscriber.error(error);
    });
  }
  if (!listener?.status) return;
  emitter.on('status', (status: StatusObject) => {
    listener.status!(status);
    if (!state.holding) return;
    state.holding = false;
    subscriber.next(state.held);
    subscriber.complete();
  });
}

/** Writes the request Observable into a call; a failing request stream cancels the call. */
function pipeRequests(call: ClientWritableStream<Buffer>, subscriber: Subscriber<unknown>, a: Attempt): void {
  subscriber.add(
    (a.request as Observable<Buffer>).subscribe({
      next: (message) => call.write(message),
      error: (error: unknown) => {
        if (isMeshClientError(error)) return subscriber.error(error);
        if (error instanceof RequestProblem) return subscriber.error(callerError(a.method.site, error.message, { attempts: a.attempt }));
        const reason = describeThrown(error);
        subscriber.error(
          localError(a.method.site, Status.CANCELLED, `the request stream failed: ${reason}`, { attempts: a.attempt, cause: error, local: true }),
        );
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
  const { path, deserialize } = a.method;
  const options = { deadline: a.deadline };
  let call: Emitter & { cancel(): void };
  switch (a.method.kind) {
    case 'unary':
      call = channel.makeUnaryRequest(path, ENCODED, deserialize, a.request as Buffer, a.metadata, options, settle(subscriber, a, state));
      break;
    case 'server-stream': {
      const stream = channel.makeServerStreamRequest(path, ENCODED, deserialize, a.request as Buffer, a.metadata, options);
      pipeResponses(stream, subscriber, a, state);
      call = stream;
      break;
    }
    case 'client-stream':
      call = channel.makeClientStreamRequest(path, ENCODED, deserialize, a.metadata, options, settle(subscriber, a, state));
      break;
    case 'bidi': {
      const stream = channel.makeBidiStreamRequest(path, ENCODED, deserialize, a.metadata, options);
      pipeResponses(stream, subscriber, a, state);
      call = stream;
      break;
    }
  }
  listen(call, a.listener, subscriber as Subscriber<unknown>, state);
  return call;
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
    if (lease.tlsRefusal) a = { ...a, tlsRefusal: lease.tlsRefusal };
    const timer = connectTimer(lease, subscriber as Subscriber<unknown>, a);
    const state: WireState = { ended: false, holding: false, held: undefined };
    let call: { cancel(): void } | undefined;
    try {
      // grpc-js records a caller stack per call only to decorate its errors; here it would always
      // point into this function, never at the caller.
      call = withoutStackTrace(() => startCall(channel, a, subscriber, state));
    } catch (error) {
      state.ended = true;
      subscriber.error(
        localError(a.method.site, Status.UNAVAILABLE, `grpc-js refused to start the call: ${describeThrown(error)}`, {
          attempts: a.attempt,
          cause: error,
        }),
      );
    }
    if (call && (kind === 'client-stream' || kind === 'bidi'))
      pipeRequests(call as ClientWritableStream<Buffer>, subscriber as Subscriber<unknown>, a);
    return () => {
      if (timer) clearTimeout(timer);
      if (!state.ended) call?.cancel(); // left early: cancel on the wire
      a.channels.release(lease);
    };
  });
}
