import type { AsyncResource } from 'node:async_hooks';
import type { InterceptingListener, Metadata, StatusObject } from '@grpc/grpc-js';
import { connectivityState, status as Status } from '@grpc/grpc-js';
import { READ_AHEAD_BYTES } from '../../config/defaults.js';
import { describeThrown } from '../../errors/describe-thrown.js';
import type { MeshClientError } from '../../errors/mesh-client.error.js';
import { localError, tlsRefused, toMeshError } from '../../errors/to-mesh-error.js';
import type { AttemptSink, RunningAttempt } from '../../resilience/attempt-gate.js';
import type { ChannelLease, ChannelPool } from '../channels/channel-pool.js';
import type { Spreads } from '../channels/spreads.js';
import { SPREAD_KEY } from '../../security/metadata.js';
import { withoutEchoedCredentials } from '../../security/echoed-credentials.js';
import type { FlowControl, FlowReader } from './flow-control.js';
import type { MethodInfo } from '../../proto/method-table.js';
import type { RequestCursor } from './request-source.js';
import { requestStreamFailure } from './request-stream-failure.js';
import { RequestWriter } from './request-writer.js';
import { ListenerInScope } from './call-scope.js';
import { cancelSoon } from './cancel-soon.js';
import { connectTimer, keepsItsStatus, notGrpcAnswer } from './wire-checks.js';

/** What every attempt of one call shares on the wire. */
export interface WireSpec {
  readonly channels: ChannelPool;
  readonly method: MethodInfo;
  /** Fail with UNAVAILABLE when no connection is up this long after the start (0 = off, e.g. waitForReady). */
  readonly connectTimeoutMs: number;
  /** The consumer's flow control of the response stream (iterate()). */
  readonly flow: FlowControl | undefined;
  /** Hedged: a copy asks the channel for an endpoint other than its call's earlier copies' (where the channel can choose). */
  readonly spreadCopies?: boolean;
}

/** Who reads an attempt's response headers (the plugins' `onHeaders`): an error returned ends the attempt with it. */
export interface HeaderReader {
  headers(n: number, headers: Metadata): unknown;
}

/** A hedged call: the token of its copies' spread on a client's channels. */
export interface HedgedCopies {
  spreadOn(spreads: Spreads): string;
}

/** One attempt's request: the encoded message, or the stream of encoded messages it reads. */
export type WireRequest = Buffer | RequestCursor;

/** A call of grpc-js's channel layer. */
export type GrpcCall = ReturnType<ReturnType<ChannelLease['client']['getChannel']>['createCall']>;

/** grpc-js's words for a connection that closed before HTTP/2 began (after TLS, if any). */
const CONNECT_FAILURE = /Failed to connect|closed before starting HTTP\/2 handshake/;
/** How grpc-js words a call it failed because its channel has no connection (its load balancer's name first, for some). */
const LOCAL_CONNECT_FAILURE = /^(?:[a-z_]+: )?No connection established/;
const NO_MESSAGE = Symbol('no message');

/**
 * One attempt on the wire, made on grpc-js's channel directly (`Channel.createCall`), with this
 * object as the call's listener: requests are encoded already, responses decoded here; a response
 * stream is read one message at a time, so a consumer that pulls (iterate()) holds the server back
 * through HTTP/2 flow control and nothing grpc-js handed over is ever dropped. Every callback of
 * grpc-js is guarded: nothing thrown here reaches grpc-js.
 */
export class WireAttempt<T> implements InterceptingListener, RunningAttempt, FlowReader {
  headers: Metadata | undefined;
  trailers: Metadata | undefined;
  private call: GrpcCall | undefined;
  private lease: ChannelLease | undefined;
  /** The metadata sent: a failure's status that echoes its credentials (a token) has them masked. */
  private sent: Metadata | undefined;
  private timer: NodeJS.Timeout | undefined;
  private writer: RequestWriter | undefined;
  /** 'open' while the attempt runs; 'reporting' once its outcome is decided; 'done' once told or cancelled. */
  private state: 'open' | 'reporting' | 'done' = 'open';
  private message: unknown = NO_MESSAGE;
  /** The failure of an answer that is no gRPC server's (its content-type), once its headers came. */
  private foreign: MeshClientError | undefined;
  /** Bytes read since the consumer last fell behind (the pause it fell behind in: `aheadEpoch`). */
  private aheadBytes = 0;
  private aheadEpoch = -1;

  constructor(
    private readonly spec: WireSpec,
    readonly n: number,
    private readonly sink: AttemptSink<T>,
    private readonly headerReader?: HeaderReader,
    /** The call's async context (call-scope.ts): grpc-js's callbacks enter it. */
    private readonly scope?: AsyncResource,
  ) {}

  /**
   * Starts the call: returns at once; the outcome comes to the sink. `copies`: the attempt is a
   * hedged call's copy, which a round_robin channel sends to an endpoint no other copy is on.
   */
  start(metadata: Metadata, request: WireRequest, deadline: number, copies?: HedgedCopies): void {
    const { method, channels } = this.spec;
    const lease = (this.lease = channels.acquire());
    try {
      // only once the spread policy balances the channel, which takes the token off before the wire
      if (copies && lease.spreads?.attached) {
        metadata = metadata.clone();
        metadata.set(SPREAD_KEY, copies.spreadOn(lease.spreads));
      }
      // the channel itself: no Client layer (its interceptors, its caller stack per call)
      const call = lease.client.getChannel().createCall(method.path, deadline, undefined, null, undefined);
      this.call = call;
      this.sent = metadata;
      this.timer = connectTimer(lease, this.spec.connectTimeoutMs, this);
      call.start(metadata, this.scope ? new ListenerInScope(this.scope, this) : this);
      if (Buffer.isBuffer(request)) {
        call.sendMessageWithContext({}, request);
        call.halfClose();
      } else {
        this.writer = new RequestWriter(call, request, (error) => this.fail(requestStreamFailure(method.site, error, this.n)), this.scope);
        this.writer.start();
      }
      if (this.state === 'open') call.startRead();
    } catch (error) {
      const details = `grpc-js refused to start the call: ${describeThrown(error)}`;
      this.fail(localError(method.site, Status.UNAVAILABLE, details, { attempts: this.n, cause: error }));
    }
  }

  cancel(): void {
    if (this.state === 'done') return;
    const wasOpen = this.state === 'open';
    this.state = 'done';
    this.cleanup();
    if (wasOpen && this.call) cancelSoon(this.call);
  }

  /**
   * Whether to read on after a message of `size` bytes on the wire: yes unless the consumer is behind and
   * this attempt already read READ_AHEAD_BYTES since it fell behind.
   */
  private readsAhead(size: number): boolean {
    const flow = this.spec.flow;
    if (!flow?.paused) return true;
    if (this.aheadEpoch !== flow.epoch) {
      this.aheadEpoch = flow.epoch;
      this.aheadBytes = 0;
    }
    this.aheadBytes += size;
    return this.aheadBytes < READ_AHEAD_BYTES;
  }

  /** The consumer caught up: read the next message. */
  resumeReading(): void {
    if (this.state === 'open') this.call?.startRead();
  }

  onReceiveMetadata(headers: Metadata): void {
    if (this.state !== 'open') return;
    this.headers = headers;
    try {
      // the server answered over this TLS session: it took the client's certificate
      this.lease?.tlsRefusal?.accepted();
      // (decided at the status: an HTTP error status, which grpc-js maps, stays that status)
      if ((this.foreign = notGrpcAnswer(headers, this.sent!, this.spec.method.site, this.n))) return;
      this.sink.answered?.();
      const error = this.headerReader?.headers(this.n, headers);
      if (error !== undefined) this.fail(error);
    } catch (error) {
      this.failedHandling(error);
    }
  }

  onReceiveMessage(bytes: Buffer): void {
    if (this.state !== 'open') return;
    try {
      this.received(bytes);
    } catch (error) {
      this.failedHandling(error);
    }
  }

  /** A response message: held (a single-response call) or handed on, then read on as the consumer allows. */
  private received(bytes: Buffer): void {
    if (this.foreign) return this.call?.startRead(); // no gRPC message: read on to the status
    let message: unknown;
    try {
      message = this.spec.method.deserialize(bytes);
    } catch (error) {
      const details = `the response does not decode as its message type: ${describeThrown(error)}`;
      return this.fail(localError(this.spec.method.site, Status.INTERNAL, details, { attempts: this.n, cause: error }));
    }
    const kind = this.spec.method.kind;
    if (kind === 'unary' || kind === 'client-stream') {
      if (this.message !== NO_MESSAGE) {
        const details = 'the server sent more than one response to a single-response call';
        return this.fail(localError(this.spec.method.site, Status.UNIMPLEMENTED, details, { attempts: this.n }));
      }
      this.message = message;
      this.call?.startRead(); // a second message is a protocol error; reading on lets the status through
      return;
    }
    this.sink.value(message as T);
    if (this.state !== 'open') return;
    // on the wire a message takes its 5-byte gRPC prefix too: empty messages count, as the HTTP/2 window counts them
    if (this.readsAhead(bytes.length + 5)) this.call?.startRead();
    else this.spec.flow!.park(this);
  }

  onReceiveStatus(status: StatusObject): void {
    if (this.state !== 'open') return;
    try {
      this.ended(status);
    } catch (error) {
      this.failedHandling(error);
    }
  }

  /** The call's status: OK hands on the held response and ends the attempt; anything else fails it. */
  private ended(status: StatusObject): void {
    this.trailers = status.metadata;
    if (this.foreign && !keepsItsStatus(status)) return this.fail(this.foreign);
    if (status.code !== Status.OK) return this.failWithStatus(status);
    const single = this.spec.method.kind === 'unary' || this.spec.method.kind === 'client-stream';
    if (single && this.message === NO_MESSAGE) {
      const details = 'the server answered OK without a response message';
      return this.fail(localError(this.spec.method.site, Status.UNIMPLEMENTED, details, { attempts: this.n }));
    }
    this.state = 'done';
    this.cleanup();
    if (single) this.sink.value(this.message as T);
    this.message = NO_MESSAGE;
    this.sink.end(undefined);
  }

  /**
   * A failure status. Only a TLS client's own connection failure (grpc-js's "No connection
   * established", no response headers, its channel not connected) is read for a TLS failure: a
   * status a server sent is the server's, whatever its words (a draining server's included, whose
   * channel already left READY). Such a connection failure is first checked for a refused client
   * certificate (grpc-js cannot tell it from any other dropped connection): that is 'tls', not
   * retryable, instead of 'unavailable'.
   */
  private failWithStatus(received: StatusObject): void {
    const status = this.sent ? withoutEchoedCredentials(received, this.sent) : received;
    const lease = this.lease;
    const ownTls =
      lease?.tls === true &&
      this.headers === undefined &&
      LOCAL_CONNECT_FAILURE.test(status.details) &&
      lease.client.getChannel().getConnectivityState(false) !== connectivityState.READY;
    const error = toMeshError(status, this.spec.method.site, this.n, ownTls);
    const check = ownTls ? lease.tlsRefusal : undefined;
    if (!check || error.category !== 'unavailable' || !CONNECT_FAILURE.test(error.details)) return this.fail(error);
    this.state = 'reporting';
    this.cleanup();
    check.refusal().then(
      (reason) => this.report(reason ? tlsRefused(error, reason) : error),
      () => this.report(error),
    );
  }

  /** Ends the attempt with `error` (cancelling the call if it still runs). */
  private fail(error: unknown): void {
    if (this.state !== 'open') return;
    this.state = 'reporting';
    this.cleanup();
    if (this.call) cancelSoon(this.call);
    this.report(error);
  }

  private report(error: unknown): void {
    if (this.state !== 'reporting') return;
    this.state = 'done';
    this.sink.end(error);
  }

  private cleanup(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.writer?.close();
    this.writer = undefined;
    this.spec.flow?.forget(this);
    const lease = this.lease;
    this.lease = undefined;
    if (lease) this.spec.channels.release(lease);
  }

  /** A listener's work threw: that ends the attempt instead of reaching grpc-js. */
  private failedHandling(error: unknown): void {
    const details = `the client failed while handling the response: ${describeThrown(error)}`;
    const failure: MeshClientError = localError(this.spec.method.site, Status.INTERNAL, details, { attempts: this.n, cause: error, local: true });
    if (this.state === 'open') this.fail(failure);
    else if (this.state === 'reporting') this.report(failure);
  }

  /** No connection came within connectTimeoutMs (wire-checks.ts). */
  connectTimedOut(details: string): void {
    this.timer = undefined;
    this.fail(localError(this.spec.method.site, Status.UNAVAILABLE, details, { attempts: this.n }));
  }
}
