import type { ClientReadableStream, Metadata, ServiceError } from '@grpc/grpc-js';
import { connectivityState, status as Status } from '@grpc/grpc-js';
import { Observable, type Subscriber } from 'rxjs';
import { describeThrown } from '../errors/describe-thrown.js';
import { localError, toMeshError } from '../errors/to-mesh-error.js';
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

function settle<T>(subscriber: Subscriber<T>, a: Attempt): Callback {
  return (error, value) => {
    if (error) subscriber.error(toMeshError(error, a.method.site, a.attempt));
    else {
      subscriber.next(value as T);
      subscriber.complete();
    }
  };
}

function pipeResponses<T>(stream: ClientReadableStream<unknown>, subscriber: Subscriber<T>, a: Attempt): void {
  stream.on('data', (value: T) => subscriber.next(value));
  stream.on('error', (error: ServiceError) => subscriber.error(toMeshError(error, a.method.site, a.attempt)));
  stream.on('end', () => subscriber.complete());
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

/**
 * One attempt as a cold Observable. Unsubscribing before the call ended cancels it on the wire;
 * grpc-js's own CANCELLED report of that arrives after the subscriber closed and is dropped.
 */
export function attempt$<T>(a: Attempt): Observable<T> {
  const { path, serialize, deserialize, kind } = a.method;
  const options = { deadline: a.deadline };
  return new Observable<T>((subscriber) => {
    const lease = a.channels.acquire();
    const channel = lease.client;
    const timer = connectTimer(lease, subscriber as Subscriber<unknown>, a);
    switch (kind) {
      case 'unary': {
        const call = channel.makeUnaryRequest(path, serialize, deserialize, a.request, a.metadata, options, settle(subscriber, a));
        return () => {
          clearTimeout(timer);
          call.cancel();
          a.channels.release(lease);
        };
      }
      case 'server-stream': {
        const call = channel.makeServerStreamRequest(path, serialize, deserialize, a.request, a.metadata, options);
        pipeResponses(call, subscriber, a);
        return () => {
          clearTimeout(timer);
          call.cancel();
          a.channels.release(lease);
        };
      }
      case 'client-stream': {
        const call = channel.makeClientStreamRequest(path, serialize, deserialize, a.metadata, options, settle(subscriber, a));
        pipeRequests(call, subscriber as Subscriber<unknown>, a);
        return () => {
          clearTimeout(timer);
          call.cancel();
          a.channels.release(lease);
        };
      }
      case 'bidi': {
        const call = channel.makeBidiStreamRequest(path, serialize, deserialize, a.metadata, options);
        pipeResponses(call, subscriber, a);
        pipeRequests(call, subscriber as Subscriber<unknown>, a);
        return () => {
          clearTimeout(timer);
          call.cancel();
          a.channels.release(lease);
        };
      }
    }
  });
}
