import type { Type } from '@nestjs/common';
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

/** A plugin class (built by Nest DI), as opposed to a plugin object. */
export const isClass = (ref: unknown): ref is Type<MeshClientPlugin> => typeof ref === 'function';

/** Why `plugin` (an object) is no plugin, or undefined. */
export function pluginProblem(plugin: Record<string, unknown>): string | undefined {
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
 * The plugin classes among `lists` (each once), to provide and export under the class itself: the
 * app injects the instance the clients call. Objects and malformed entries are left to validation.
 */
export function pluginClassesOf(...lists: unknown[]): Type<MeshClientPlugin>[] {
  const classes = lists.flatMap((list) => (Array.isArray(list) ? (list as unknown[]).filter(isClass) : []));
  return [...new Set(classes)];
}
