import { Module, type DynamicModule } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ClsModule } from 'nestjs-cls';
import { MeshHealthIndicator } from '../health/mesh-health.indicator.js';
import { MeshClientRegistry } from '../client/mesh-client.registry.js';
import { MeshContext } from '../security/mesh-context.service.js';
import { createMetricProviders } from '../observability/mesh-metrics.providers.js';
import { MeshMetrics } from '../observability/mesh-metrics.js';
import { MeshClientConfigurableModule, type MESH_ASYNC_OPTIONS_TYPE, type MESH_OPTIONS_TYPE } from './mesh-client.module-definition.js';
import { clientNamesOf, createClientProviders, createContextProviders, createRegistryProvider, createResolvedOptionsProvider } from './mesh-client.providers.js';

function withClients(base: DynamicModule, names: readonly string[], expected?: readonly string[]): DynamicModule {
  const clientProviders = createClientProviders(names);
  return {
    ...base,
    imports: [...(base.imports ?? []), ClsModule, TerminusModule],
    providers: [
      ...(base.providers ?? []),
      createResolvedOptionsProvider(expected),
      createRegistryProvider(),
      ...createContextProviders(),
      ...createMetricProviders(),
      MeshMetrics,
      MeshHealthIndicator,
      ...clientProviders,
    ],
    exports: [...(base.exports ?? []), MeshClientRegistry, MeshContext, MeshHealthIndicator, ...clientProviders.map((p) => (p as { provide: string }).provide)],
  };
}

/**
 * Registers one injectable `MeshClient` per remote service, plus `MeshClientRegistry`.
 *
 * @example
 * MeshClientModule.forRoot({ clients: [{ name: 'inventory', target: 'inventory:50051', proto, tls }] })
 * MeshClientModule.forRootAsync({ clientNames: ['inventory'], inject: [ConfigService], useFactory: (c) => ... })
 */
@Module({})
export class MeshClientModule extends MeshClientConfigurableModule {
  /** Clients from static options. Invalid options fail application start with MeshConfigError. */
  static override forRoot(options: typeof MESH_OPTIONS_TYPE): DynamicModule {
    return withClients(super.forRoot(options), clientNamesOf(options));
  }

  /** Clients from a factory; `clientNames` must list the names the factory returns. */
  static override forRootAsync(options: typeof MESH_ASYNC_OPTIONS_TYPE): DynamicModule {
    const names = options.clientNames ?? [];
    return withClients(super.forRootAsync(options), names, names);
  }
}
