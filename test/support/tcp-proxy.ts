import { EventEmitter, once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';

/**
 * A userspace TCP proxy on 127.0.0.1 in front of a backend. It observes connections as the server
 * sees them (opened, open now, closed) and is the place where faults are injected later.
 */
export class TcpProxy extends EventEmitter {
  private readonly server: Server;
  private readonly sockets = new Set<Socket>();
  port = 0;
  opened = 0;
  /** Bytes the clients sent through the proxy (what went on the wire towards the server). */
  bytesFromClients = 0;
  /** While true, new connections are accepted but nothing is forwarded either way (a blackhole). */
  blackhole = false;

  constructor(private readonly backendPort: number) {
    super();
    this.server = createServer((client) => this.accept(client));
  }

  async start(): Promise<this> {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  get target(): string {
    return `127.0.0.1:${String(this.port)}`;
  }

  /** Resets every open connection (TCP RST), as a crashed peer or a middlebox would. */
  resetAll(): void {
    for (const s of this.sockets) s.resetAndDestroy();
  }

  /** Stops accepting: new connections are refused (the port stays ours to reopen). */
  refuse(): void {
    // close() stops listening at once; its callback would wait for open connections to end.
    if (this.server.listening) this.server.close();
  }

  /** Accepts again on the same port after `refuse()`. */
  async reopen(): Promise<void> {
    if (this.server.listening) return;
    this.server.listen(this.port, '127.0.0.1');
    await once(this.server, 'listening');
  }

  /** Client connections open right now. */
  get openConnections(): number {
    return this.sockets.size;
  }

  /** Resolves when no client connection is open. */
  async allClosed(): Promise<void> {
    while (this.sockets.size > 0) await once(this, 'closed');
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    if (this.server.listening) await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.opened++;
    this.sockets.add(client);
    if (this.blackhole) {
      client.on('data', () => undefined);
      client.on('close', () => this.sockets.delete(client) && this.emit('closed')).on('error', () => undefined);
      return;
    }
    const backend = createConnection({ host: '127.0.0.1', port: this.backendPort });
    client.on('data', (chunk: Buffer) => (this.bytesFromClients += chunk.length));
    client.pipe(backend).pipe(client);
    const close = (): void => {
      client.destroy();
      backend.destroy();
      if (this.sockets.delete(client)) this.emit('closed');
    };
    client.on('close', close).on('error', close);
    backend.on('close', close).on('error', close);
  }
}
