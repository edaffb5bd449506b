import type { MeshClientPlugin } from '../config/mesh-plugin.interface.js';
import { describeThrown } from '../errors/describe-thrown.js';
import { MeshConfigError, isMeshConfigError } from '../errors/mesh-config.error.js';
import type { PluginFactory } from './plugin-factory.js';

type Hook = 'onModuleInit' | 'onModuleDestroy';

/**
 * The Nest lifecycle of the module's plugins (the objects given and the classes it built): each
 * plugin's `onModuleInit` once at start, `onModuleDestroy` once at shutdown, each plugin once
 * however many clients share it. Each hook is bounded: one that does not finish within
 * `timeoutMs` (pluginInitTimeoutMs) fails with an error naming the plugin. A start that fails
 * destroys the plugins already started; a shutdown runs every plugin's `onModuleDestroy`, whatever
 * the others did, then fails naming those that failed.
 */
export class PluginLifecycle {
  private plugins: MeshClientPlugin[] = [];
  /** Plugins whose start finished (or that have none), in order. */
  private started: MeshClientPlugin[] = [];

  constructor(
    private readonly objects: readonly unknown[],
    private readonly factory: PluginFactory,
    private readonly timeoutMs: number,
  ) {}

  async init(): Promise<void> {
    const built = await this.factory.instances();
    this.plugins = [...new Set([...(this.objects as MeshClientPlugin[]), ...built])];
    for (const plugin of this.plugins) {
      const hooks = this.factory.hooksOf(plugin);
      try {
        if (hooks.onModuleInit) await this.run(plugin, 'onModuleInit', () => hooks.onModuleInit!());
      } catch (error) {
        // what the plugins before it opened is closed again; the start's own error is the one told
        await this.destroy().catch(() => undefined);
        throw error;
      }
      this.started.push(plugin);
    }
  }

  async destroy(): Promise<void> {
    const started = this.started;
    this.started = [];
    const failures: string[] = [];
    let first: unknown;
    for (const plugin of started) {
      const hooks = this.factory.hooksOf(plugin);
      if (!hooks.onModuleDestroy) continue;
      try {
        await this.run(plugin, 'onModuleDestroy', () => hooks.onModuleDestroy!());
      } catch (error) {
        first ??= error;
        failures.push(describeThrown(error));
      }
    }
    if (failures.length === 1) throw first;
    if (failures.length > 1) throw new MeshConfigError(failures.join('; '), { cause: first });
  }

  private async run(plugin: MeshClientPlugin, hook: Hook, call: () => void | Promise<void>): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const outcome = hook === 'onModuleInit' ? '; the application does not start' : '';
        reject(
          new MeshConfigError(`plugin '${plugin.name}' did not finish ${hook} within ${String(this.timeoutMs)} ms (pluginInitTimeoutMs)${outcome}`),
        );
      }, this.timeoutMs);
    });
    try {
      await Promise.race([Promise.resolve().then(call), late]);
    } catch (error) {
      if (isMeshConfigError(error)) throw error;
      throw new MeshConfigError(`plugin '${plugin.name}' failed in ${hook}: ${describeThrown(error)}`, { cause: error });
    } finally {
      clearTimeout(timer);
    }
  }
}
