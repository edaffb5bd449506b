import { createServer as createTcpServer, type Server as TcpServer, type Socket } from 'node:net';
import {
  createServer,
  type Http2Server,
  type Http2Session,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Stream,
} from 'node:http2';

/** A gRPC length-prefixed message frame. */
export function grpcFrame(message: Buffer, { compressed = false, declaredLength }: { compressed?: boolean; declaredLength?: number } = {}): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(compressed ? 1 : 0, 0);
  head.writeUInt32BE(declaredLength ?? message.length, 1);
  return Buffer.concat([head, message]);
}

/** What a misbehaving response is made of; every part optional. */
export interface Answer {
  headers?: OutgoingHttpHeaders;
  /** Raw bytes of the body (use grpcFrame for well-formed messages). */
  body?: Buffer;
  /** Trailers; omitted means the stream ends without any. */
  trailers?: OutgoingHttpHeaders;
}

/** Sends `answer` on `stream` as the HTTP/2 frames a gRPC server would (or would not). */
export function respond(stream: ServerHttp2Stream, answer: Answer): void {
  const trailers = answer.trailers;
  stream.respond({ ':status': 200, 'content-type': 'application/grpc', ...answer.headers }, { waitForTrailers: trailers !== undefined });
  if (trailers) stream.once('wantTrailers', () => stream.sendTrailers(trailers));
  stream.end(answer.body);
}

/**
 * A raw `node:http2` server on 127.0.0.1 (port from the OS) that speaks just enough gRPC to be
 * hostile: each request stream goes to `handler`. Counts sessions and streams, and which sessions
 * the client ended (GOAWAY codes seen).
 */
export class HostileServer {
  readonly server: Http2Server;
  readonly sessions = new Set<Http2Session>();
  readonly goaways: number[] = [];
  streams = 0;
  port = 0;

  constructor(handler: (stream: ServerHttp2Stream, headers: IncomingHttpHeaders, n: number) => void) {
    // Node refuses to send header blocks over 64 KiB unless told otherwise: hostility needs it.
    this.server = createServer({ maxSendHeaderBlockLength: 10_000_000, maxHeaderListPairs: 100_000 });
    this.server.on('session', (session) => {
      this.sessions.add(session);
      session.on('goaway', (code: number) => this.goaways.push(code));
      session.on('error', () => undefined);
      session.on('close', () => this.sessions.delete(session));
    });
    this.server.on('stream', (stream, headers) => {
      stream.on('error', () => undefined);
      handler(stream, headers, ++this.streams);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get target(): string {
    return `127.0.0.1:${String(this.port)}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sessions) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

/** A plain TCP server that does `onSocket` with each connection (never speaks HTTP/2). */
export class TcpPeer {
  readonly server: TcpServer;
  readonly sockets = new Set<Socket>();
  port = 0;

  constructor(onSocket: (socket: Socket) => void) {
    this.server = createTcpServer((socket) => {
      this.sockets.add(socket);
      socket.on('error', () => undefined);
      socket.on('close', () => this.sockets.delete(socket));
      onSocket(socket);
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get target(): string {
    return `127.0.0.1:${String(this.port)}`;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise((resolve) => this.server.close(resolve));
  }
}
