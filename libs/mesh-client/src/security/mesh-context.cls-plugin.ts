import { ModuleRef } from '@nestjs/core';
import { ClsPluginBase, type ClsPluginHooks } from 'nestjs-cls';
import { MeshContextFiller } from './context-filler.js';
import { sourceOfClsInit } from './request-headers.js';

let instances = 0;

/**
 * The security context through nestjs-cls's plugin API: whichever CLS initializer the app mounts
 * (middleware, guard or interceptor) fills the MeshContext right after its own `setup`, so guards
 * already see the caller's token and tenant. Registered by MeshClientModule.
 */
export class MeshContextClsPlugin extends ClsPluginBase {
  constructor() {
    // A plugin's name names its hooks provider: unique per module instance.
    super(`@datapunk/mesh-client:context#${String(++instances)}`);
    this.registerHooks({
      inject: [ModuleRef],
      useFactory: (moduleRef: ModuleRef): ClsPluginHooks => {
        let filler: MeshContextFiller | undefined;
        return {
          afterSetup: (_cls, init) => {
            const source = sourceOfClsInit(init);
            if (!source) return;
            filler ??= moduleRef.get(MeshContextFiller, { strict: false });
            filler?.fill(source);
          },
        };
      },
    });
  }
}
