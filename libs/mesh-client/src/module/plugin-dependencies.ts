import type { Type } from '@nestjs/common';
import { PARAMTYPES_METADATA, PROPERTY_DEPS_METADATA, SELF_DECLARED_DEPS_METADATA } from '@nestjs/common/constants.js';
import { MeshClientRegistry } from '../client/mesh-client.registry.js';
import { MeshHealthIndicator } from '../health/mesh-health.indicator.js';
import { CLIENT_TOKEN_PREFIX } from './mesh-client.tokens.js';

/** What Nest may hold for a dependency: a class, a token, or `forwardRef(() => Class)`. */
type Dependency = unknown;

/**
 * The dependency of plugin class `type` (its constructor's, or a property's) that is built from the
 * clients this plugin is part of (`MeshClientRegistry`, one of the module's clients `names`, by
 * its token or its bare name among `aliases`, `MeshHealthIndicator`), named as a user writes it;
 * undefined when there is none (a client of another MeshClientModule, made without this plugin,
 * is not one). Nest would wait for it while the registry waits for the plugin: start-up would
 * never finish. Only direct dependencies are seen here (a dependency of a dependency is left to
 * the build's time bound).
 */
export function clientDependencyOf(type: Type<unknown>, names: readonly string[], aliases: readonly string[]): string | undefined {
  const declared = (Reflect.getMetadata(SELF_DECLARED_DEPS_METADATA, type) as { index: number; param: Dependency }[] | undefined) ?? [];
  const params: Dependency[] = [...((Reflect.getMetadata(PARAMTYPES_METADATA, type) as Dependency[] | undefined) ?? [])];
  for (const { index, param } of declared) params[index] = param;
  const properties = (Reflect.getMetadata(PROPERTY_DEPS_METADATA, type) as { type: Dependency }[] | undefined) ?? [];
  for (const dependency of [...params, ...properties.map((p) => p.type)]) {
    const name = clientDependencyName(unwrap(dependency), names, aliases);
    if (name) return name;
  }
  return undefined;
}

function unwrap(dependency: Dependency): Dependency {
  const ref = (dependency as { forwardRef?: unknown } | null | undefined)?.forwardRef;
  if (typeof ref !== 'function') return dependency;
  try {
    return (ref as () => unknown)();
  } catch {
    return undefined;
  }
}

function clientDependencyName(token: Dependency, names: readonly string[], aliases: readonly string[]): string | undefined {
  if (token === MeshClientRegistry) return 'MeshClientRegistry';
  if (token === MeshHealthIndicator) return 'MeshHealthIndicator';
  if (typeof token === 'string' && aliases.includes(token)) return `mesh client '${token}'`;
  if (typeof token !== 'string' || !token.startsWith(CLIENT_TOKEN_PREFIX)) return undefined;
  const name = token.slice(CLIENT_TOKEN_PREFIX.length);
  return names.includes(name) ? `mesh client '${name}'` : undefined;
}
