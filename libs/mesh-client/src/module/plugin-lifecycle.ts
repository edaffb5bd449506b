import type { MeshClientPlugin } from '../config/mesh-plugin.interface.js';
import { describeThrown } from '../errors/describe-thrown.js';
import { MeshConfigError, isMeshConfigError } from '../errors/mesh-config.error.js';
import type { PluginFactory } from './plugin-factory.js';

/**
 * The Nest lifecycle of the module's plugins (the objects given and the classes it built): each
 * plugin's `onModuleInit` once at start, `onModuleDestroy` once at shutdown, each plugin once
 * however many clients share it. A plugin's start is bounded: one that does not finish within
 * `initTimeoutMs` fails start-up with an error naming it.
 */
export class PluginLifecycle {
  private plugins: MeshClientPlugin[] = [];

  constructor(
    private readonly objects: readonly unknown[],
    private readonly factory: PluginFactory,
    private readonly initTimeoutMs: number,
  ) {}

  async init(): Promise<void> {
    const built = await this.factory.instances();
    this.plugins = [...new Set([...(this.objects as MeshClientPlugin[]), ...built])];
    for (const plugin of this.plugins) {
      const hooks = this.factory.hooksOf(plugin);
      if (hooks.onModuleInit) await this.start(plugin, () => hooks.onModuleInit!());
    }
  }

  async destroy(): Promise<void> {
    for (const plugin of this.plugins) await this.factory.hooksOf(plugin).onModuleDestroy?.();
  }

  private async start(plugin: MeshClientPlugin, init: () => void | Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new MeshConfigError(
              `plugin '${plugin.name}' did not finish onModuleInit within ${String(this.initTimeoutMs)} ms (pluginInitTimeoutMs); the application does not start`,
            ),
          ),
        this.initTimeoutMs,
      );
    });
    try {
      await Promise.race([Promise.resolve().then(init), late]);
    } catch (error) {
      if (isMeshConfigError(error)) throw error;
      throw new MeshConfigError(`plugin '${plugin.name}' failed in onModuleInit: ${describeThrown(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}
