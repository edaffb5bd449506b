import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { ModuleMetadata } from '@nestjs/common';
import type { MeshPluginRef } from '../config/mesh-plugin.interface.js';
import type { MeshModuleOptions } from '../config/mesh-client-options.interface.js';

/** Options beside `useFactory` in forRootAsync (and accepted by forRoot) that shape the module itself. */
export interface MeshModuleExtras {
  /** Register the module globally. Default false. */
  global?: boolean;
  /**
   * forRootAsync only: the names of the clients `useFactory` will return. They decide which
   * injection tokens exist, so they must be known before the factory runs.
   */
  clientNames?: string[];
  /**
   * Plugins of every client (listed first = outermost). Classes are built by Nest DI in the
   * module's scope; in forRootAsync give classes here, and the factory may return more plugins.
   */
  plugins?: MeshPluginRef[];
  /** forRoot only: modules whose exported providers plugin classes inject (forRootAsync has its own `imports`). */
  imports?: ModuleMetadata['imports'];
}

export const {
  ConfigurableModuleClass: MeshClientConfigurableModule,
  MODULE_OPTIONS_TOKEN: MESH_MODULE_OPTIONS,
  OPTIONS_TYPE: MESH_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: MESH_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<MeshModuleOptions>({ moduleName: 'MeshClient' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createMeshClientOptions')
  .setExtras<MeshModuleExtras>({ global: false, clientNames: [], plugins: [], imports: [] }, (definition, extras) => ({
    ...definition,
    global: extras.global,
  }))
  .build();
