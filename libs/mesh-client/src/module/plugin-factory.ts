import { Scope, type Type } from '@nestjs/common';
import { SCOPE_OPTIONS_METADATA } from '@nestjs/common/constants.js';
import type { ModuleRef } from '@nestjs/core';
import type { MeshClientPlugin, MeshPluginRef } from '../config/mesh-plugin.interface.js';
import { describeThrown } from '../errors/describe-thrown.js';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import { isClass, pluginProblem } from '../options/plugin-refs.js';
import { clientDependencyOf } from './plugin-dependencies.js';

/** A plugin's Nest lifecycle hooks. */
export type LifecycleHooks = Pick<MeshClientPlugin, 'onModuleInit' | 'onModuleDestroy'>;

/**
 * Builds the plugin classes among `refs` with Nest DI in the module's scope (once per class, so a
 * class listed for the module and for a client is one instance, and the module's provider of a
 * class gives the app that instance too). A request- or transient-scoped class cannot be: a plugin
 * lives as long as the client.
 */
export class PluginFactory {
  private readonly built = new Map<Type<MeshClientPlugin>, Promise<MeshClientPlugin>>();
  /** The lifecycle hooks of the instances it built, taken off them (see `create`). */
  private readonly hooks = new WeakMap<MeshClientPlugin, LifecycleHooks>();

  constructor(
    private readonly moduleRef: ModuleRef,
    /** The module's client names (a plugin class injecting one of them could never be built). */
    private readonly clientNames: readonly string[],
    /** Those of them the module also provides under their bare names (fromClientsModule). */
    private readonly aliases: readonly string[],
  ) {}

  /**
   * The plugin objects of `refs`, in order. A class Nest has not built within `timeoutMs`
   * (pluginInitTimeoutMs) fails start-up naming it: a dependency of its dependencies that needs a
   * mesh client waits for the clients the plugin is part of, and Nest would wait for ever.
   */
  async resolve(refs: readonly MeshPluginRef[], timeoutMs: number): Promise<MeshClientPlugin[]> {
    return Promise.all(refs.map((ref) => (isClass(ref) ? this.bounded(ref, timeoutMs) : ref)));
  }

  private async bounded(type: Type<MeshClientPlugin>, timeoutMs: number): Promise<MeshClientPlugin> {
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const details = `plugin class ${type.name} was not built within ${String(timeoutMs)} ms (pluginInitTimeoutMs): Nest is still resolving its dependencies; if one of them needs a mesh client (MeshClientRegistry, @InjectMeshClient(), MeshHealthIndicator), it waits for the clients this plugin is part of. Inject ModuleRef instead and look the client up when a call needs it`;
        reject(new MeshConfigError(details));
      }, timeoutMs);
    });
    try {
      return await Promise.race([this.build(type), late]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The plugins built so far (for their lifecycle hooks). */
  async instances(): Promise<MeshClientPlugin[]> {
    return Promise.all(this.built.values());
  }

  /** The lifecycle hooks of `plugin`: its own, or those taken off an instance this factory built. */
  hooksOf(plugin: MeshClientPlugin): LifecycleHooks {
    return this.hooks.get(plugin) ?? plugin;
  }

  /** The one instance of plugin class `type`, built on first ask (by a client or by the app injecting it). */
  build(type: Type<MeshClientPlugin>): Promise<MeshClientPlugin> {
    let plugin = this.built.get(type);
    if (!plugin) {
      plugin = this.create(type);
      this.built.set(type, plugin);
    }
    return plugin;
  }

  private async create(type: Type<MeshClientPlugin>): Promise<MeshClientPlugin> {
    const scope = (Reflect.getMetadata(SCOPE_OPTIONS_METADATA, type) as { scope?: Scope } | undefined)?.scope;
    if (scope === Scope.REQUEST || scope === Scope.TRANSIENT) {
      throw new MeshConfigError(
        `plugin class ${type.name} is ${scope === Scope.REQUEST ? 'request' : 'transient'}-scoped: a plugin lives as long as its client; make it a default-scoped provider`,
      );
    }
    const needs = clientDependencyOf(type, this.clientNames, this.aliases);
    if (needs) {
      throw new MeshConfigError(
        `plugin class ${type.name} injects ${needs}, which is built from the clients the plugin is part of: start-up would wait for ever. Inject ModuleRef instead and look the client up when a call needs it: moduleRef.get(MeshClientRegistry).get('<name>')`,
      );
    }
    let plugin: MeshClientPlugin;
    try {
      plugin = await this.moduleRef.create(type);
    } catch (error) {
      throw new MeshConfigError(
        `plugin class ${type.name} could not be built by Nest: ${describeThrown(error)} (its dependencies must be global or exported by a module in MeshClientModule's imports)`,
        { cause: error },
      );
    }
    const problem = pluginProblem(plugin as unknown as Record<string, unknown>);
    if (problem) throw new MeshConfigError(`plugin class ${type.name} ${problem}`);
    this.takeHooks(plugin);
    return plugin;
  }

  /**
   * The module also provides this instance under its class, and Nest calls `onModuleInit` and
   * `onModuleDestroy` on every provider it holds: with the plugin lifecycle calling them too, each
   * ran twice, and the first `onModuleDestroy` before the clients closed. The hooks are the
   * lifecycle's (once, bounded, after the clients closed): the instance keeps them for it alone and
   * shows Nest none. An instance that cannot be changed (frozen) keeps its own.
   */
  private takeHooks(plugin: MeshClientPlugin): void {
    const { onModuleInit, onModuleDestroy } = plugin;
    if (typeof onModuleInit !== 'function' && typeof onModuleDestroy !== 'function') return;
    const names = ['onModuleInit', 'onModuleDestroy'] as const;
    const own = names.map((hook) => Object.getOwnPropertyDescriptor(plugin, hook));
    try {
      for (const hook of names) Object.defineProperty(plugin, hook, { value: undefined, writable: true, configurable: true, enumerable: false });
    } catch {
      // all or nothing: the instance keeps both hooks as they were
      names.forEach((hook, i) => {
        try {
          if (own[i]) Object.defineProperty(plugin, hook, own[i]);
          else delete (plugin as unknown as Record<string, unknown>)[hook];
        } catch {
          // the property was never changed
        }
      });
      return;
    }
    this.hooks.set(plugin, { onModuleInit: onModuleInit?.bind(plugin), onModuleDestroy: onModuleDestroy?.bind(plugin) });
  }
}
