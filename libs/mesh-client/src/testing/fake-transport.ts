import { once } from 'node:events';
import { createServer, type AddressInfo, type Server as NetServer, type Socket } from 'node:net';
import { ServerCredentials, type ConnectionInjector, type Server } from '@grpc/grpc-js';
import type { FakePki } from './tls/certificates.js';

/**
 * The fake's listener: a TCP server on 127.0.0.1 (port from the OS) whose connections are handed
 * to grpc-js (its connection injector), so that the fake holds every socket and can drop them
 * while it keeps listening.
 */
export class FakeTransport {
  /** The port the OS gave. */
  readonly port: number;

  private constructor(
    private readonly listener: NetServer,
    private readonly injector: ConnectionInjector,
    private readonly sockets: Set<Socket>,
  ) {
    this.port = (listener.address() as AddressInfo).port;
  }

  /** Listens on 127.0.0.1:0 and hands every connection to `server`: plaintext, or mutual TLS with `pki`. */
  static async listen(server: Server, pki: FakePki | undefined): Promise<FakeTransport> {
    const credentials = pki
      ? ServerCredentials.createSsl(
          Buffer.from(pki.ca),
          [{ cert_chain: Buffer.from(pki.server.cert), private_key: Buffer.from(pki.server.key) }],
          true,
        )
      : ServerCredentials.createInsecure();
    const injector = server.createConnectionInjector(credentials);
    const sockets = new Set<Socket>();
    const listener = createServer((socket) => {
      sockets.add(socket);
      socket.once('close', () => sockets.delete(socket));
      socket.on('error', () => socket.destroy()); // a reset by the client is no failure of the fake
      injector.injectConnection(socket);
    });
    listener.listen(0, '127.0.0.1');
    try {
      await once(listener, 'listening');
    } catch (error) {
      injector.destroy();
      throw error;
    }
    return new FakeTransport(listener, injector, sockets);
  }

  /** Open connections. */
  get connections(): number {
    return this.sockets.size;
  }

  /** Destroys every open connection (the TCP sockets, no GOAWAY) and resolves once they closed. */
  async dropConnections(): Promise<void> {
    const closing = [...this.sockets].map((socket) => (socket.closed ? undefined : once(socket, 'close')));
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(closing);
  }

  /** Stops listening and drops every connection. */
  async close(): Promise<void> {
    const closed = this.listener.listening ? once(this.listener, 'close') : undefined;
    this.listener.close();
    this.injector.destroy();
    await this.dropConnections();
    await closed;
  }
}
