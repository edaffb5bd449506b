import { Module, type DynamicModule, type Provider, type Type } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { ClsModule } from 'nestjs-cls';
import { MeshConfigError, isMeshConfigError } from '../errors/mesh-config.error.js';
import { didYouMean } from '../errors/did-you-mean.js';
import { meshClientsFromClientsModule } from './from-clients-module.js';
import { clientsModuleAsyncParts, type ClientsModuleAsyncParts } from './from-clients-module-async.js';
import type { ClientsModuleGrpcAsyncEntry, ClientsModuleGrpcEntry, ClientsModuleGrpcProvider } from './clients-module.interface.js';
import { MeshHealthIndicator } from '../health/mesh-health.indicator.js';
import { MeshClientRegistry } from '../client/mesh-client.registry.js';
import { MeshContextClsPlugin } from '../security/mesh-context.cls-plugin.js';
import { MeshContext } from '../security/mesh-context.service.js';
import { createMetricProviders } from '../observability/mesh-metrics.providers.js';
import type { MeshClientOptions, MeshModuleOptions } from '../config/mesh-client-options.interface.js';
import { MeshClientConfigurableModule, type MESH_ASYNC_OPTIONS_TYPE, type MESH_OPTIONS_TYPE } from './mesh-client.module-definition.js';
import {
  clientNamesOf,
  createClientProviders,
  createContextProviders,
  createModulePluginsProvider,
  createPluginProviders,
  createRegistryProvider,
  createResolvedOptionsProvider,
} from './mesh-client.providers.js';
import { MESH_CLIENT_NAME_ALIASES, MESH_RESOLVED_OPTIONS, getMeshClientToken } from './mesh-client.tokens.js';
import { pluginClassesOf } from '../options/plugin-refs.js';

function withClients(
  base: DynamicModule,
  names: readonly string[],
  extras: { plugins?: unknown; imports?: DynamicModule['imports']; clientPlugins?: unknown[] },
  expected?: readonly string[],
): DynamicModule {
  const clientProviders = createClientProviders(names);
  const pluginClasses = pluginClassesOf(extras.plugins, ...(extras.clientPlugins ?? []));
  return {
    ...base,
    imports: [...(base.imports ?? []), ...(extras.imports ?? []), ClsModule.registerPlugins([new MeshContextClsPlugin()]), TerminusModule],
    providers: [
      ...(base.providers ?? []),
      createModulePluginsProvider(extras.plugins),
      ...createPluginProviders(pluginClasses, names),
      createResolvedOptionsProvider(expected),
      createRegistryProvider(),
      ...createContextProviders(),
      ...createMetricProviders(),
      MeshHealthIndicator,
      ...clientProviders,
    ],
    exports: [
      ...(base.exports ?? []),
      MeshClientRegistry,
      MeshContext,
      MeshHealthIndicator,
      ...pluginClasses,
      ...clientProviders.map((p) => (p as { provide: string }).provide),
    ],
  };
}

/** A module that fails application start with `message` (options unusable before anything is built). */
function failing(message: string): DynamicModule {
  return {
    module: MeshClientModule,
    providers: [{ provide: MESH_RESOLVED_OPTIONS, useFactory: () => Promise.reject(new MeshConfigError(message)) }],
  };
}

/** Nest's `global` extra takes any truthy value: the module refuses what is no boolean. */
function globalProblem(caller: string, global: unknown): string | undefined {
  return global === undefined || typeof global === 'boolean'
    ? undefined
    : `MeshClientModule.${caller}: global must be true or false, got ${global === null ? 'null' : typeof global}`;
}

const ASYNC_KEYS = ['clientNames', 'useFactory', 'inject', 'useClass', 'useExisting', 'imports', 'plugins', 'global', 'provideInjectionTokensFrom'];

/** A key forRootAsync does not know (`useFactori`, `clients`) would be ignored without a word: it is refused by name. */
function unknownAsyncKey(options: object): string | undefined {
  const key = Object.keys(options).find((k) => !ASYNC_KEYS.includes(k));
  if (key === undefined) return undefined;
  const hint = key === 'clients' ? '; forRootAsync takes the clients from useFactory (their names in clientNames)' : didYouMean(key, ASYNC_KEYS);
  return `MeshClientModule.forRootAsync: ${key.slice(0, 64)} is not an option${hint}; known options: ${ASYNC_KEYS.join(', ')}`;
}

/** `module` with each client injectable under its bare name too, as ClientsModule registers them. */
function withNameAliases(module: DynamicModule, names: readonly string[], extra: Provider[] = []): DynamicModule {
  const aliases = names.map((name) => ({ provide: name, useExisting: getMeshClientToken(name) }));
  // (for the plugin factory: a plugin class injecting one of them injects its own module's client)
  const known = { provide: MESH_CLIENT_NAME_ALIASES, useValue: names };
  return {
    ...module,
    providers: [...(module.providers ?? []), ...extra, ...aliases, known],
    exports: [...(module.exports ?? []), ...names],
  };
}

/** The module options beside ClientsModule entries; nothing of incoming requests is forwarded unless `trustIncoming` says what (as ClientGrpc). */
type ClientsModuleMeshOptions = Omit<typeof MESH_OPTIONS_TYPE, 'clients'>;

const isObject = (value: unknown): boolean => typeof value === 'object' && value !== null && !Array.isArray(value);

/**
 * The options a `useClass` / `useExisting` class returns from `createMeshClientOptions()` (Nest's
 * convention for an options factory). forRootAsync calls it through a factory of its own, not
 * through ConfigurableModuleBuilder's `useClass`, so that a class without the method fails start
 * with a MeshConfigError naming it instead of a TypeError from inside Nest.
 */
async function optionsFrom(factory: unknown, type: Type): Promise<MeshModuleOptions> {
  const method = (factory as { createMeshClientOptions?: () => unknown }).createMeshClientOptions;
  if (typeof method !== 'function') {
    throw new MeshConfigError(
      `MeshClientModule.forRootAsync: ${type.name} (useClass/useExisting) has no createMeshClientOptions() method returning the module options`,
    );
  }
  return (await method.call(factory)) as MeshModuleOptions;
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
    if (!isObject(options))
      return failing(
        `MeshClientModule.forRoot(options): options must be an object ({ clients: [...] }), got ${options === null ? 'null' : typeof options}`,
      );
    const global = globalProblem('forRoot', options.global);
    if (global) return failing(global);
    const clientPlugins = Array.isArray(options.clients) ? options.clients.map((c) => (c as { plugins?: unknown } | null)?.plugins) : [];
    return withClients(super.forRoot(options), clientNamesOf(options), { plugins: options.plugins, imports: options.imports, clientPlugins });
  }

  /**
   * The one-line move from Nest's `ClientsModule.register([...])`: the same gRPC entries, mapped
   * field by field (or refused by name), one mesh client per entry, injectable under the entry's
   * name as well (`@Inject('HERO_PACKAGE') client: ClientGrpc` keeps working: a MeshClient has
   * `getService(name)` and `getClientByServiceName(name)`). An entry's `tls` (or `defaults.tls`
   * in `options`) makes it a TLS client, checked and reloadable as in `forRoot`. `options` are the
   * other module options; nothing of incoming requests is forwarded unless `trustIncoming` is set.
   *
   * @example
   * MeshClientModule.fromClientsModule([{ name: 'HERO_PACKAGE', transport: Transport.GRPC, options: { url, package: 'hero', protoPath }, tls }])
   */
  static fromClientsModule(entries: ClientsModuleGrpcEntry[], options: ClientsModuleMeshOptions = {}): DynamicModule {
    let clients: MeshClientOptions[];
    try {
      clients = meshClientsFromClientsModule(entries, options.defaults);
    } catch (error) {
      if (!isMeshConfigError(error)) throw error;
      return failing(error.message);
    }
    // as ClientGrpc: nothing of incoming requests is forwarded unless the app says what
    const module = MeshClientModule.forRoot({ ...options, trustIncoming: options.trustIncoming ?? [], clients });
    return withNameAliases(
      module,
      clients.map((c) => c.name),
    );
  }

  /**
   * The move from `ClientsModule.registerAsync([...])`: each entry's name now, its options (as
   * `fromClientsModule` takes them, `tls` included) from `useFactory` (with `inject`), `useClass`
   * or `useExisting` (a class with `createClientOptions()`), with the entry's `imports` and
   * `extraProviders`. `options` are the other module options, given now.
   *
   * @example
   * MeshClientModule.fromClientsModuleAsync([{ name: 'HERO_PACKAGE', imports: [ConfigModule], inject: [ConfigService],
   *   useFactory: (c: ConfigService) => ({ transport: Transport.GRPC, options: { url: c.get('HERO_URL'), package: 'hero', protoPath }, tls }) }])
   */
  static fromClientsModuleAsync(entries: ClientsModuleGrpcAsyncEntry[], options: ClientsModuleMeshOptions = {}): DynamicModule {
    let parts: ClientsModuleAsyncParts;
    try {
      parts = clientsModuleAsyncParts(entries);
    } catch (error) {
      if (!isMeshConfigError(error)) throw error;
      return failing(error.message);
    }
    // clientNames come from the entries
    const { global, plugins, imports, clientNames, ...moduleOptions } = options;
    void clientNames;
    const { names, tokens } = parts;
    const module = MeshClientModule.forRootAsync({
      clientNames: names,
      global,
      plugins,
      imports: [...(imports ?? []), ...parts.imports],
      inject: tokens,
      useFactory: (...given: ClientsModuleGrpcProvider[]) => ({
        ...moduleOptions,
        trustIncoming: moduleOptions.trustIncoming ?? [],
        clients: meshClientsFromClientsModule(
          given.map((entry, i) => ({ ...entry, name: names[i]! })),
          moduleOptions.defaults,
        ),
      }),
    });
    return withNameAliases(module, names, parts.providers);
  }

  /**
   * Clients from a factory: `useFactory` (+ `inject`, `imports`), or a class with a
   * `createMeshClientOptions()` method (`useClass`, or `useExisting` for a provider the imports
   * export). `clientNames` must list the names the factory returns.
   */
  static override forRootAsync(options: typeof MESH_ASYNC_OPTIONS_TYPE): DynamicModule {
    if (!isObject(options))
      return failing(`MeshClientModule.forRootAsync(options): options must be an object, got ${options === null ? 'null' : typeof options}`);
    const problem = unknownAsyncKey(options) ?? globalProblem('forRootAsync', options.global);
    if (problem) return failing(problem);
    const names: unknown = options.clientNames ?? [];
    if (!Array.isArray(names) || !names.every((n): n is string => typeof n === 'string')) {
      const got = Array.isArray(names) ? 'an array holding a value that is no string' : typeof names;
      return failing(`MeshClientModule.forRootAsync: clientNames must be an array of client names (strings), e.g. ['inventory'], got ${got}`);
    }
    const type = options.useClass ?? options.useExisting;
    if (!type && typeof options.useFactory !== 'function') {
      return failing('MeshClientModule.forRootAsync: give useFactory (with inject), useClass or useExisting, and clientNames');
    }
    const base = super.forRootAsync(
      type
        ? { ...options, useClass: undefined, useExisting: undefined, useFactory: (factory: unknown) => optionsFrom(factory, type), inject: [type] }
        : options,
    );
    if (options.useClass) base.providers = [...(base.providers ?? []), { provide: options.useClass, useClass: options.useClass }];
    return withClients(base, names, { plugins: options.plugins }, names);
  }
}
