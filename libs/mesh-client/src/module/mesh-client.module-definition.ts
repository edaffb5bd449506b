import { ConfigurableModuleBuilder } from '@nestjs/common';
import type { MeshModuleOptions } from './mesh-client-options.interface.js';

/** Options beside `useFactory` in forRootAsync (and accepted by forRoot) that shape the module itself. */
export interface MeshModuleExtras {
  /** Register the module globally. Default false. */
  global?: boolean;
  /**
   * forRootAsync only: the names of the clients `useFactory` will return. They decide which
   * injection tokens exist, so they must be known before the factory runs.
   */
  clientNames?: string[];
}

export const {
  ConfigurableModuleClass: MeshClientConfigurableModule,
  MODULE_OPTIONS_TOKEN: MESH_MODULE_OPTIONS,
  OPTIONS_TYPE: MESH_OPTIONS_TYPE,
  ASYNC_OPTIONS_TYPE: MESH_ASYNC_OPTIONS_TYPE,
} = new ConfigurableModuleBuilder<MeshModuleOptions>({ moduleName: 'MeshClient' })
  .setClassMethodName('forRoot')
  .setFactoryMethodName('createMeshClientOptions')
  .setExtras<MeshModuleExtras>({ global: false, clientNames: [] }, (definition, extras) => ({ ...definition, global: extras.global }))
  .build();
