import { EventEmitter, once } from 'node:events';
import {
  Metadata,
  Server,
  ServerCredentials,
  loadPackageDefinition,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type ServiceError,
  type sendUnaryData,
} from '@grpc/grpc-js';
import type { HealthImplementation } from 'grpc-health-check';
import { ECHO_PROTO, loadServerProto, type EchoReply, type ServerEchoRequest as EchoRequest } from './protos.js';

/**
 * Server steering read from request metadata:
 * - `x-test-status: <code>` answer with that status (streams: after their messages);
 * - `x-test-fail-times: <n>` + `x-test-call-id: <id>`: fail the first n attempts of that call
 *   with `x-test-status` (default UNAVAILABLE), then answer normally;
 * - `x-test-fail-percent: <p>`: fail p% of such requests, spread evenly over their arrival order
 *   (a load-shedding server), with UNAVAILABLE;
 * - `x-test-pushback-ms: <v>`: send `grpc-retry-pushback-ms: v` with a failure;
 * - `x-test-delay-ms: <ms>`: wait before answering; `x-test-details`: the status details;
 * - `x-test-reply-meta: <v>`: answer with header `x-reply-header: v` and trailer `x-reply-trailer: v`;
 * - `x-test-silent` (ServerStream): send the response headers, then nothing until cancelled.
 */
interface Steering {
  status?: number;
  details: string;
  delayMs: number;
  pushback?: string;
  replyMeta?: string;
}

const header = (metadata: Metadata, key: string): string | undefined => {
  const value = metadata.get(key)[0];
  return value === undefined ? undefined : String(value);
};

/** Trailers of a successful answer (`x-test-reply-meta`), or undefined. */
function okTrailers(s: Steering): Metadata | undefined {
  if (s.replyMeta === undefined) return undefined;
  const trailers = new Metadata();
  trailers.set('x-reply-trailer', s.replyMeta);
  return trailers;
}

function failure(s: Steering): Partial<ServiceError> {
  const trailers = new Metadata();
  trailers.set('x-test-trailer', 'kept');
  if (s.replyMeta !== undefined) trailers.set('x-reply-trailer', s.replyMeta);
  if (s.pushback !== undefined) trailers.set('grpc-retry-pushback-ms', s.pushback);
  return { code: s.status, details: s.details, metadata: trailers };
}

const reply = (req: EchoRequest, index: number, extra: Partial<EchoReply> = {}): EchoReply => ({
  message: req.message ?? '',
  index,
  payload: Buffer.alloc(req.reply_bytes ?? 0, 7),
  received: 0,
  ...extra,
});

export interface EchoServerOptions {
  /** Server-side message limit (both directions); default grpc-js's 4 MiB receive / unlimited send. */
  maxMessageBytes?: number;
  credentials?: ServerCredentials;
  /** Also serve grpc.health.v1 (the npm package grpc-health-check). */
  health?: HealthImplementation;
  /** Bind to this port instead of one chosen by the OS (to restart a server where it was). */
  port?: number;
  /** When given, a call whose `authorization` is not `Bearer <token()>` fails UNAUTHENTICATED. */
  requireToken?: () => string;
  /** Every answer of this server waits this long (a slow replica); `x-test-delay-ms` adds to it. */
  delayMs?: number;
  /** Keep nothing per request (calls, metadata, peers...): for runs that measure the client's memory. Default false. */
  forgetful?: boolean;
}

/**
 * A real grpc-js server of the test Echo service on 127.0.0.1 (port from the OS). It reports what
 * it observed: calls, cancellations (`'cancelled'` events with the method name).
 */
export class EchoServer extends EventEmitter {
  readonly server: Server;
  port = 0;
  readonly calls: string[] = [];
  readonly cancelled: string[] = [];
  readonly metadataSeen: Metadata[] = [];
  /** Serial numbers of the client certificates of every request (TLS only). */
  readonly peerSerials: string[] = [];
  /** SAN of the client certificate of the last TLS request. */
  lastPeerSan: string | undefined;
  /** Client address (ip:port) of every request: one per connection. */
  readonly peers: string[] = [];
  /** Deadlines of every request as the server saw them. */
  readonly deadlines: (Date | number)[] = [];
  /** Arrival times (performance.now()) of every request. */
  readonly arrivals: number[] = [];
  /** Arrival times (Date.now()) of every request. */
  readonly arrivedAt: number[] = [];
  /** When set, every call fails with this status (an outage). */
  outage: number | undefined;
  /** Writes of flooding streams (`x-test-flood`) that returned false: the client held it back. */
  backpressured = 0;
  /** Messages written by flooding streams. */
  flooded = 0;
  private readonly attemptsByCall = new Map<string, number>();
  private shedCounter = 0;

  constructor(private readonly options: EchoServerOptions = {}) {
    super();
    const limit = options.maxMessageBytes;
    this.server = new Server(limit ? { 'grpc.max_receive_message_length': limit, 'grpc.max_send_message_length': limit } : {});
    const pkg = loadPackageDefinition(loadServerProto(ECHO_PROTO)) as unknown as { mesh: { test: { Echo: { service: ServiceDefinition } } } };
    this.server.addService(pkg.mesh.test.Echo.service, {
      Unary: (call: ServerUnaryCall<EchoRequest, EchoReply>, cb: sendUnaryData<EchoReply>) => this.unary(call, cb),
      ServerStream: (call: ServerWritableStream<EchoRequest, EchoReply>) => this.serverStream(call),
      ClientStream: (call: ServerReadableStream<EchoRequest, EchoReply>, cb: sendUnaryData<EchoReply>) => this.clientStream(call, cb),
      Bidi: (call: ServerDuplexStream<EchoRequest, EchoReply>) => this.bidi(call),
    });
    options.health?.addToServer(this.server);
  }

  /** Binds to 127.0.0.1 on a free port. */
  async start(): Promise<this> {
    const creds = this.options.credentials ?? ServerCredentials.createInsecure();
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`127.0.0.1:${String(this.options.port ?? 0)}`, creds, (error, port) => (error ? reject(error) : resolve(port))),
    );
    return this;
  }

  get target(): string {
    return `127.0.0.1:${String(this.port)}`;
  }

  /** Resolves with the name of the next method whose call is cancelled by the client. */
  nextCancellation(): Promise<string> {
    return once(this, 'cancelled').then(([method]) => method as string);
  }

  async stop(): Promise<void> {
    this.server.forceShutdown();
  }

  private observe(
    method: string,
    call:
      | ServerUnaryCall<EchoRequest, EchoReply>
      | ServerWritableStream<EchoRequest, EchoReply>
      | ServerReadableStream<EchoRequest, EchoReply>
      | ServerDuplexStream<EchoRequest, EchoReply>,
  ): Steering {
    if (this.options.forgetful) return this.steeringOf(call.metadata);
    this.calls.push(method);
    this.metadataSeen.push(call.metadata);
    this.deadlines.push(call.getDeadline());
    this.peers.push(call.getPeer());
    const peer = call.getAuthContext().sslPeerCertificate;
    if (peer) {
      this.peerSerials.push(peer.serialNumber);
      this.lastPeerSan = peer.subjectaltname;
    }
    this.arrivals.push(performance.now());
    this.arrivedAt.push(Date.now());
    const replyMeta = header(call.metadata, 'x-test-reply-meta');
    if (replyMeta !== undefined) {
      const headers = new Metadata();
      headers.set('x-reply-header', replyMeta);
      call.sendMetadata(headers);
    }
    (call as unknown as EventEmitter).on('cancelled', () => {
      this.cancelled.push(method);
      this.emit('cancelled', method);
    });
    return this.steeringOf(call.metadata);
  }

  private steeringOf(metadata: Metadata): Steering {
    const code = header(metadata, 'x-test-status');
    const s: Steering = {
      status: code === undefined ? undefined : Number(code),
      details: header(metadata, 'x-test-details') ?? 'steered failure',
      delayMs: Number(header(metadata, 'x-test-delay-ms') ?? 0) + (this.options.delayMs ?? 0),
      pushback: header(metadata, 'x-test-pushback-ms'),
      replyMeta: header(metadata, 'x-test-reply-meta'),
    };
    const token = this.options.requireToken?.();
    if (token !== undefined && header(metadata, 'authorization') !== `Bearer ${token}`) {
      s.status = 16;
      s.details = 'token refused';
    }
    const failTimes = header(metadata, 'x-test-fail-times');
    if (failTimes !== undefined) {
      const id = header(metadata, 'x-test-call-id') ?? '';
      const seen = (this.attemptsByCall.get(id) ?? 0) + 1;
      this.attemptsByCall.set(id, seen);
      if (seen > Number(failTimes)) s.status = undefined;
      else s.status ??= 14;
    }
    const percent = header(metadata, 'x-test-fail-percent');
    if (percent !== undefined) {
      const i = this.shedCounter++;
      const p = Number(percent) / 100;
      if (Math.floor((i + 1) * p) > Math.floor(i * p)) s.status = 14;
    }
    if (this.outage !== undefined) s.status = this.outage;
    return s;
  }

  /** Runs `fn` after `ms` unless the call is cancelled first (then the timer is cleared). */
  private later(call: { cancelled: boolean }, ms: number, fn: () => void): void {
    if (ms <= 0) return fn();
    let timers = this.timers.get(call);
    if (!timers) {
      const own = new Set<NodeJS.Timeout>();
      this.timers.set(call, (timers = own));
      (call as unknown as EventEmitter).once('cancelled', () => own.forEach(clearTimeout));
    }
    const timer = setTimeout(() => {
      timers.delete(timer);
      if (!call.cancelled) fn();
    }, ms);
    timers.add(timer);
  }

  private readonly timers = new WeakMap<object, Set<NodeJS.Timeout>>();

  private unary(call: ServerUnaryCall<EchoRequest, EchoReply>, cb: sendUnaryData<EchoReply>): void {
    const s = this.observe('Unary', call);
    // x-test-echo-header: <key> answers with the value of that request header as the message.
    const echoKey = header(call.metadata, 'x-test-echo-header');
    const request = echoKey ? { ...call.request, message: header(call.metadata, echoKey) ?? '' } : call.request;
    this.later(call, s.delayMs, () => (s.status ? cb(failure(s)) : cb(null, reply(request, 0), okTrailers(s))));
  }

  private serverStream(call: ServerWritableStream<EchoRequest, EchoReply>): void {
    const s = this.observe('ServerStream', call);
    const flood = header(call.metadata, 'x-test-flood');
    if (flood !== undefined) return this.flood(call, Number(flood));
    // a quiet watch: its headers at once, then nothing until the client ends it
    if (header(call.metadata, 'x-test-silent') !== undefined) return void call.sendMetadata(new Metadata());
    const count = call.request.count ?? 0;
    let index = 0;
    const tick = (): void => {
      if (call.cancelled) return;
      if (count >= 0 && index >= count) {
        if (s.status) call.emit('error', failure(s));
        else call.end(okTrailers(s));
        return;
      }
      call.write(reply(call.request, index++));
      this.later(call, s.delayMs || (count < 0 ? 10 : 0), tick);
    };
    tick();
  }

  /** `x-test-flood: <bytes>`: messages of that payload as fast as the client takes them, until cancelled. */
  private flood(call: ServerWritableStream<EchoRequest, EchoReply>, bytes: number): void {
    const payload = Buffer.alloc(bytes, 1);
    let index = 0;
    const write = (): void => {
      while (!call.cancelled) {
        this.flooded++;
        if (!call.write({ message: '', index: index++, payload, received: 0 })) {
          this.backpressured++;
          call.once('drain', write);
          return;
        }
      }
    };
    write();
  }

  private clientStream(call: ServerReadableStream<EchoRequest, EchoReply>, cb: sendUnaryData<EchoReply>): void {
    const s = this.observe('ClientStream', call);
    const messages: string[] = [];
    call.on('data', (req: EchoRequest) => messages.push(req.message ?? ''));
    call.on('end', () =>
      this.later(call, s.delayMs, () =>
        s.status ? cb(failure(s)) : cb(null, { ...reply({}, 0), message: messages.join(','), received: messages.length }),
      ),
    );
  }

  private bidi(call: ServerDuplexStream<EchoRequest, EchoReply>): void {
    const s = this.observe('Bidi', call);
    let index = 0;
    call.on('data', (req: EchoRequest) => {
      if (s.status) return;
      this.later(call, s.delayMs, () => call.write(reply(req, index++)));
    });
    call.on('end', () => {
      if (s.status) call.emit('error', failure(s));
      else this.later(call, s.delayMs, () => call.end());
    });
  }
}

/** Starts an EchoServer. */
export function startEchoServer(options?: EchoServerOptions): Promise<EchoServer> {
  return new EchoServer(options).start();
}
