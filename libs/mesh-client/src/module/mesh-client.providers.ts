import type { FactoryProvider, Provider } from '@nestjs/common';
import { MeshClient } from '../client/mesh-client.js';
import { MeshClientRegistry } from '../client/mesh-client.registry.js';
import type { MeshModuleOptions } from './mesh-client-options.interface.js';
import { MESH_MODULE_OPTIONS } from './mesh-client.module-definition.js';
import { MESH_RESOLVED_OPTIONS, getMeshClientToken } from './mesh-client.tokens.js';
import { resolveCallRetry, resolveModuleOptions, resolvePatch } from './resolve-options.js';
import type { ResolvedModuleOptions } from './resolved-options.interface.js';

/** Validates the raw options once, when the module starts. */
export function createResolvedOptionsProvider(expectedNames?: readonly string[]): FactoryProvider {
  return {
    provide: MESH_RESOLVED_OPTIONS,
    useFactory: (raw: MeshModuleOptions) => resolveModuleOptions(raw, expectedNames),
    inject: [MESH_MODULE_OPTIONS],
  };
}

/** The registry, holding one MeshClient per configured client. */
export function createRegistryProvider(): FactoryProvider {
  return {
    provide: MeshClientRegistry,
    useFactory: (options: ResolvedModuleOptions) => new MeshClientRegistry(options.clients.map((c) => new MeshClient(c, { patch: resolvePatch, callRetry: resolveCallRetry }))),
    inject: [MESH_RESOLVED_OPTIONS],
  };
}

/** One provider per client name, so that `@InjectMeshClient(name)` resolves. */
export function createClientProviders(names: readonly string[]): Provider[] {
  return [...new Set(names)].map((name) => ({
    provide: getMeshClientToken(name),
    useFactory: (registry: MeshClientRegistry) => registry.get(name),
    inject: [MeshClientRegistry],
  }));
}

/** Client names of forRoot options, tolerant of malformed input (validation reports it later). */
export function clientNamesOf(options: { clients?: unknown } | undefined): string[] {
  const clients = Array.isArray(options?.clients) ? (options.clients as unknown[]) : [];
  return clients.map((c) => (c as { name?: unknown } | null)?.name).filter((n): n is string => typeof n === 'string');
}
