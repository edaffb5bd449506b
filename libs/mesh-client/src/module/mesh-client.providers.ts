import { Logger, type FactoryProvider, type Provider, type Type, type ValueProvider } from '@nestjs/common';
import { APP_INTERCEPTOR, ModuleRef, Reflector } from '@nestjs/core';
import type { MeshClient } from '../client/mesh-client.js';
import { createMeshClient } from './create-mesh-client.js';
import { MeshClientRegistry } from '../client/mesh-client.registry.js';
import { CONTEXT_EXTRA_KEYS, CONTEXT_TRUSTED } from '../security/incoming-context-reader.js';
import { MeshContextInterceptor } from '../security/mesh-context.interceptor.js';
import { MeshContext } from '../security/mesh-context.service.js';
import { MeshMetrics } from '../observability/mesh-metrics.js';
import type { MeshModuleOptions } from '../config/mesh-client-options.interface.js';
import type { MeshClientPlugin } from '../config/mesh-plugin.interface.js';
import { MESH_MODULE_OPTIONS } from './mesh-client.module-definition.js';
import {
  MESH_CLIENT_NAME_ALIASES,
  MESH_MODULE_PLUGINS,
  MESH_OPTIONS_OVERRIDE,
  MESH_RESOLVED_OPTIONS,
  getMeshClientToken,
  type MeshOptionsOverride,
} from './mesh-client.tokens.js';
import { PluginFactory } from './plugin-factory.js';
import { PluginLifecycle } from './plugin-lifecycle.js';
import { resolveModuleOptions } from '../options/resolve-options.js';
import type { ResolvedModuleOptions } from '../config/resolved-options.interface.js';

/** The module plugins given beside the options (validated with them). */
export function createModulePluginsProvider(plugins: unknown): ValueProvider {
  return { provide: MESH_MODULE_PLUGINS, useValue: plugins ?? [] };
}

/**
 * The module's plugin factory, and a provider of each plugin class known now (the module's
 * `plugins`, forRoot's clients' `plugins`) under the class itself, exported by the module: the app
 * injects the very instance the clients call.
 */
export function createPluginProviders(classes: readonly Type<MeshClientPlugin>[], clientNames: readonly string[]): Provider[] {
  return [
    {
      provide: PluginFactory,
      useFactory: (moduleRef: ModuleRef, aliases?: readonly string[]) => new PluginFactory(moduleRef, clientNames, aliases ?? []),
      inject: [ModuleRef, { token: MESH_CLIENT_NAME_ALIASES, optional: true }],
    },
    ...classes.map((type) => ({ provide: type, useFactory: (factory: PluginFactory) => factory.build(type), inject: [PluginFactory] })),
  ];
}

/** Validates the raw options once, when the module starts (after the optional override, see MESH_OPTIONS_OVERRIDE). */
export function createResolvedOptionsProvider(expectedNames?: readonly string[]): FactoryProvider {
  return {
    provide: MESH_RESOLVED_OPTIONS,
    useFactory: (raw: MeshModuleOptions, plugins: unknown, override?: MeshOptionsOverride) =>
      resolveModuleOptions(override ? override(raw) : raw, expectedNames, plugins),
    inject: [MESH_MODULE_OPTIONS, MESH_MODULE_PLUGINS, { token: MESH_OPTIONS_OVERRIDE, optional: true }],
  };
}

/**
 * The registry, holding one MeshClient per configured client, with its plugins (module plugins
 * first) built by Nest DI. Warns once per insecure client. Every plugin's `onModuleInit` runs
 * before the first call, its `onModuleDestroy` after every client closed.
 */
export function createRegistryProvider(): FactoryProvider {
  return {
    provide: MeshClientRegistry,
    useFactory: async (options: ResolvedModuleOptions, context: MeshContext, metrics: MeshMetrics, factory: PluginFactory) => {
      const logger = new Logger('MeshClient');
      const modulePlugins = await factory.resolve(options.plugins, options.pluginInitTimeoutMs);
      const clients: MeshClient[] = [];
      try {
        for (const c of options.clients) {
          if (c.insecure)
            logger.warn(`client '${c.name}' is insecure (plaintext to ${c.target}); this is refused when mTLS is required (NODE_ENV=production)`);
          const plugins = [...modulePlugins, ...(await factory.resolve(c.plugins, options.pluginInitTimeoutMs))];
          const deps = { context: () => context.callContext(), contextExtraKeys: options.contextExtraKeys, logger, metrics, plugins };
          clients.push(createMeshClient(c, deps));
        }
      } catch (error) {
        // a client that could not be made: those made before it close (channels, certificate watchers)
        await Promise.all(clients.map((c) => c.close()));
        throw error;
      }
      const lifecycle = new PluginLifecycle(
        [...modulePlugins, ...options.clients.flatMap((c) => c.plugins.filter((p) => typeof p !== 'function'))],
        factory,
        options.pluginInitTimeoutMs,
      );
      try {
        await lifecycle.init();
      } catch (error) {
        // start-up fails: nothing the clients opened (channels, certificate watchers) may stay behind
        await Promise.all(clients.map((c) => c.close()));
        throw error;
      }
      return new MeshClientRegistry(clients, async () => {
        try {
          metrics.close();
        } finally {
          // the plugins' onModuleDestroy runs whatever the metrics did
          await lifecycle.destroy();
        }
      });
    },
    inject: [MESH_RESOLVED_OPTIONS, MeshContext, MeshMetrics, PluginFactory],
  };
}

/**
 * The security context service (with the app's `contextExtraKeys` and `trustIncoming`: what it
 * reads from incoming requests)
 * and the global interceptor applying `@MeshCallOptions` (and filling the context when no CLS
 * initializer kept the request).
 */
export function createContextProviders(): Provider[] {
  return [
    MeshContext,
    {
      provide: CONTEXT_EXTRA_KEYS,
      useFactory: (options: ResolvedModuleOptions) => options.contextExtraKeys,
      inject: [MESH_RESOLVED_OPTIONS],
    },
    {
      provide: CONTEXT_TRUSTED,
      useFactory: (options: ResolvedModuleOptions) => options.trustIncoming,
      inject: [MESH_RESOLVED_OPTIONS],
    },
    {
      provide: APP_INTERCEPTOR,
      useFactory: (context: MeshContext, reflector: Reflector) => new MeshContextInterceptor(context, reflector),
      inject: [MeshContext, Reflector],
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
