import { fileURLToPath } from 'node:url';
import {
  Server,
  ServerCredentials,
  loadPackageDefinition,
  type Metadata,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { loadServerProto } from './protos.js';

/** Absolute path of the Peers proto. */
export const PEERS_PROTO = fileURLToPath(new URL('./protos/peers.proto', import.meta.url));

/** The `proto` option of a client of the Peers service. */
export const peersProto = { path: PEERS_PROTO, package: 'peers', service: 'Peers' } as const;

/** A request as the server reads it: proto field names (the server loads with keepCase). */
export type SeenRequest = Record<string, unknown>;

/**
 * A grpc-js server of the Peers service on 127.0.0.1 that records every request and its
 * metadata, and answers with the fields it received (text, delay_ms, inner, items, big_number,
 * kind); `x-fail: <code>` makes it fail with that status.
 */
export class PeersServer {
  readonly server = new Server();
  readonly requests: { method: string; request: SeenRequest; metadata: Metadata }[] = [];
  port = 0;

  constructor() {
    const pkg = loadPackageDefinition(loadServerProto(PEERS_PROTO)) as unknown as { peers: { Peers: { service: ServiceDefinition } } };
    const answer = (request: SeenRequest): SeenRequest => ({
      text: request.text,
      delay_ms: request.delay_ms,
      payload: Buffer.alloc(Number(request.reply_bytes ?? 0), 1),
      inner: request.inner,
      items: request.items,
      big_number: request.big_number,
      kind: request.kind,
    });
    const unary = (method: string) => (call: ServerUnaryCall<SeenRequest, SeenRequest>, cb: sendUnaryData<SeenRequest>) => {
      this.record(method, call.request, call.metadata);
      const fail = call.metadata.get('x-fail')[0];
      if (fail !== undefined) return cb({ code: Number(fail), details: 'steered failure' });
      cb(null, answer(call.request));
    };
    this.server.addService(pkg.peers.Peers.service, {
      Say: unary('Say'),
      GetHTTPStatus: unary('GetHTTPStatus'),
      list_things: (call: ServerWritableStream<SeenRequest, SeenRequest>) => {
        this.record('list_things', call.request, call.metadata);
        for (let i = 0; i < 2; i++) call.write({ ...answer(call.request), count: i });
        call.end();
      },
      Collect: (call: ServerReadableStream<SeenRequest, SeenRequest>, cb: sendUnaryData<SeenRequest>) => {
        const texts: unknown[] = [];
        call.on('data', (request: SeenRequest) => {
          this.record('Collect', request, call.metadata);
          texts.push(request.text);
        });
        call.on('end', () => cb(null, { text: texts.join(','), count: texts.length }));
      },
    });
  }

  private record(method: string, request: SeenRequest, metadata: Metadata): void {
    this.requests.push({ method, request, metadata });
  }

  /** Requests of `method` seen so far. */
  seen(method: string): SeenRequest[] {
    return this.requests.filter((r) => r.method === method).map((r) => r.request);
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
