import type { OnApplicationShutdown } from '@nestjs/common';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import type { MeshClient } from './mesh-client.js';

/**
 * Every mesh client of the application, by name. Injectable; closes all clients when the
 * application shuts down (`app.close()`).
 */
export class MeshClientRegistry implements OnApplicationShutdown {
  private readonly clients: ReadonlyMap<string, MeshClient>;

  /** @internal built by MeshClientModule; `afterClose` runs once every client closed. */
  constructor(
    clients: readonly MeshClient[],
    private readonly afterClose?: () => void | Promise<void>,
  ) {
    this.clients = new Map(clients.map((c) => [c.name, c]));
  }

  /**
   * The client named `name`, typed by its service interface `S` (and controller interface `C`,
   * see MeshClient); throws MeshConfigError naming the known clients otherwise.
   */
  get<S = unknown, C = unknown>(name: string): MeshClient<S, C> {
    const client = this.clients.get(name);
    if (!client) {
      throw new MeshConfigError(`MeshClientRegistry: no mesh client named '${name}' (known: ${[...this.clients.keys()].join(', ') || 'none'})`);
    }
    return client as MeshClient<S, C>;
  }

  /** Names of all clients. */
  names(): string[] {
    return [...this.clients.keys()];
  }

  /** Closes every client (in parallel): new calls fail at once, calls in flight drain. */
  async close(): Promise<void> {
    await Promise.all([...this.clients.values()].map((client) => client.close()));
    await this.afterClose?.();
  }

  /** @internal Nest lifecycle hook. */
  onApplicationShutdown(): Promise<void> {
    return this.close();
  }
}
