import { Logger, type FactoryProvider, type Provider } from '@nestjs/common';
import { APP_INTERCEPTOR, Reflector } from '@nestjs/core';
import { MeshClient } from '../client/mesh-client.js';
import { MeshClientRegistry } from '../client/mesh-client.registry.js';
import { MeshContextInterceptor } from '../security/mesh-context.interceptor.js';
import { MeshContext } from '../security/mesh-context.service.js';
import { MeshMetrics } from '../observability/mesh-metrics.js';
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

/** The registry, holding one MeshClient per configured client. Warns once per insecure client. */
export function createRegistryProvider(): FactoryProvider {
  return {
    provide: MeshClientRegistry,
    useFactory: (options: ResolvedModuleOptions, context: MeshContext, metrics: MeshMetrics) => {
      const logger = new Logger('MeshClient');
      const deps = { context: () => context.callContext(), contextExtraKeys: options.contextExtraKeys, logger, metrics };
      for (const c of options.clients) {
        if (c.insecure) logger.warn(`client '${c.name}' is insecure (plaintext to ${c.target}); this is refused when mTLS is required (NODE_ENV=production)`);
      }
      const clients = options.clients.map((c) => new MeshClient(c, { patch: resolvePatch, callRetry: resolveCallRetry }, deps));
      return new MeshClientRegistry(clients, () => metrics.close());
    },
    inject: [MESH_RESOLVED_OPTIONS, MeshContext, MeshMetrics],
  };
}

/** The security context service and the global interceptor that fills it from incoming requests. */
export function createContextProviders(): Provider[] {
  return [
    MeshContext,
    {
      provide: APP_INTERCEPTOR,
      useFactory: (context: MeshContext, reflector: Reflector, options: ResolvedModuleOptions) => new MeshContextInterceptor(context, reflector, options.contextExtraKeys),
      inject: [MeshContext, Reflector, MESH_RESOLVED_OPTIONS],
    },
  ];
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
