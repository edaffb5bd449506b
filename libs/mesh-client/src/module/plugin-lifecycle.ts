import type { MeshClientPlugin } from '../config/mesh-plugin.interface.js';
import type { PluginFactory } from './resolve-plugins.js';

/**
 * The Nest lifecycle of the module's plugins (the objects given and the classes it built): each
 * plugin's `onModuleInit` once at start, `onModuleDestroy` once at shutdown, each plugin once
 * however many clients share it.
 */
export class PluginLifecycle {
  private plugins: MeshClientPlugin[] = [];

  constructor(
    private readonly objects: readonly unknown[],
    private readonly factory: PluginFactory,
  ) {}

  async init(): Promise<void> {
    const built = await this.factory.instances();
    this.plugins = [...new Set([...(this.objects as MeshClientPlugin[]), ...built])];
    for (const plugin of this.plugins) await plugin.onModuleInit?.();
  }

  async destroy(): Promise<void> {
    for (const plugin of this.plugins) await plugin.onModuleDestroy?.();
  }
}
