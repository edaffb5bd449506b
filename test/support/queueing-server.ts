import { Server, ServerCredentials, loadPackageDefinition, type ServerUnaryCall, type ServiceDefinition, type sendUnaryData } from '@grpc/grpc-js';
import { ECHO_PROTO, loadServerProto, type EchoReply, type ServerEchoRequest } from './protos.js';

/** How the server's latency grows with load. */
export interface QueueingModel {
  /** Latency with at most `knee` calls in flight. */
  baseMs: number;
  /** Calls in flight the server handles without slowing down. */
  knee: number;
  /** Each call in flight past the knee adds `baseMs / slope`. */
  slope: number;
}

/**
 * An Echo server (Unary only) that slows down like a saturated service: the latency of a call is
 * fixed when it arrives, from the calls in flight then. Counts calls and the most in flight.
 */
export class QueueingServer {
  readonly server = new Server();
  inflight = 0;
  maxInflight = 0;
  calls = 0;
  cancelled = 0;
  /** Service time of every answered call, ms. */
  readonly latencies: number[] = [];
  port = 0;

  constructor(private readonly model: QueueingModel) {
    const pkg = loadPackageDefinition(loadServerProto(ECHO_PROTO)) as unknown as { mesh: { test: { Echo: { service: ServiceDefinition } } } };
    this.server.addService(pkg.mesh.test.Echo.service, {
      Unary: (call: ServerUnaryCall<ServerEchoRequest, EchoReply>, cb: sendUnaryData<EchoReply>) => this.unary(call, cb),
    });
  }

  private unary(call: ServerUnaryCall<ServerEchoRequest, EchoReply>, cb: sendUnaryData<EchoReply>): void {
    this.calls++;
    this.inflight++;
    this.maxInflight = Math.max(this.maxInflight, this.inflight);
    const { baseMs, knee, slope } = this.model;
    const ms = baseMs * (1 + Math.max(0, this.inflight - knee) / slope);
    let done = false;
    const finish = (): void => {
      if (done) return;
      done = true;
      this.inflight--;
    };
    const timer = setTimeout(() => {
      finish();
      this.latencies.push(ms);
      cb(null, { message: call.request.message ?? '', index: 0, payload: Buffer.alloc(0), received: 0 });
    }, ms);
    call.on('cancelled', () => {
      clearTimeout(timer);
      this.cancelled++;
      finish();
    });
  }

  async start(): Promise<this> {
    this.port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => (error ? reject(error) : resolve(port))),
    );
    return this;
  }

  get target(): string {
    return `127.0.0.1:${String(this.port)}`;
  }

  stop(): void {
    this.server.forceShutdown();
  }
}
