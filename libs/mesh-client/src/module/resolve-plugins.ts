import { Scope, type Type } from '@nestjs/common';
import { SCOPE_OPTIONS_METADATA } from '@nestjs/common/constants.js';
import type { ModuleRef } from '@nestjs/core';
import { describeThrown } from '../errors/describe-thrown.js';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import type { MeshClientPlugin, MeshPluginRef } from '../config/mesh-plugin.interface.js';
import type { OptionChecks } from './option-checks.js';

const HOOKS = [
  'appliesTo',
  'intercept',
  'beforeAttempt',
  'onHeaders',
  'afterAttempt',
  'onModuleInit',
  'onModuleDestroy',
] as const satisfies readonly (keyof MeshClientPlugin)[];

const isClass = (ref: unknown): ref is Type<MeshClientPlugin> => typeof ref === 'function';

/** Why `plugin` (an object) is no plugin, or undefined. */
function pluginProblem(plugin: Record<string, unknown>): string | undefined {
  if (typeof plugin.name !== 'string' || plugin.name === '') return "needs a non-empty string 'name'";
  const bad = HOOKS.find((hook) => plugin[hook] !== undefined && typeof plugin[hook] !== 'function');
  return bad ? `'${plugin.name}'.${bad} must be a function` : undefined;
}

/** Validates a `plugins` option: an array of plugin objects or plugin classes. */
export function resolvePluginRefs(check: OptionChecks, raw: unknown): readonly MeshPluginRef[] {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) return check.fail('plugins', 'must be an array of plugin objects or plugin classes', raw);
  return Object.freeze(
    raw.map((ref: unknown, i) => {
      const at = `plugins[${String(i)}]`;
      if (isClass(ref)) return ref;
      if (typeof ref !== 'object' || ref === null) return check.fail(at, 'must be a plugin object (with a name) or a plugin class', ref);
      const problem = pluginProblem(ref as Record<string, unknown>);
      if (problem) throw new MeshConfigError(`${check.where(at)} ${problem}`);
      return ref as MeshClientPlugin;
    }),
  );
}

/**
 * Builds the plugin classes among `refs` with Nest DI in the module's scope (once per class, so a
 * class listed for the module and for a client is one instance, and the module's provider of a
 * class gives the app that instance too). A request- or transient-scoped class cannot be: a plugin
 * lives as long as the client.
 */
export class PluginFactory {
  private readonly built = new Map<Type<MeshClientPlugin>, Promise<MeshClientPlugin>>();

  constructor(private readonly moduleRef: ModuleRef) {}

  /** The plugin objects of `refs`, in order. */
  async resolve(refs: readonly MeshPluginRef[]): Promise<MeshClientPlugin[]> {
    return Promise.all(refs.map((ref) => (isClass(ref) ? this.build(ref) : ref)));
  }

  /** The plugins built so far (for their lifecycle hooks). */
  async instances(): Promise<MeshClientPlugin[]> {
    return Promise.all(this.built.values());
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
    return plugin;
  }
}

/**
 * The plugin classes among `lists` (each once), to provide and export under the class itself: the
 * app injects the instance the clients call. Objects and malformed entries are left to validation.
 */
export function pluginClassesOf(...lists: unknown[]): Type<MeshClientPlugin>[] {
  const classes = lists.flatMap((list) => (Array.isArray(list) ? (list as unknown[]).filter(isClass) : []));
  return [...new Set(classes)];
}
