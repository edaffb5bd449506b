import { ClsPluginBase } from 'nestjs-cls';
import { PENDING_REQUEST_KEY } from './mesh-context.service.js';
import { sourceOfClsInit } from './request-headers.js';

let instances = 0;

/**
 * The incoming request through nestjs-cls's plugin API: whichever CLS initializer the app mounts
 * (middleware, guard or interceptor) keeps the request's headers or metadata in the request's
 * scope right after its own `setup`; the app's MeshContext reads its context from them when first
 * asked, so guards already see the caller's token and tenant. Registered by MeshClientModule.
 *
 * The hook depends on no application: nestjs-cls keeps one plugin host per process (the last
 * application created) and runs its hooks for the requests of every application in the process,
 * so each application's MeshContext reads the kept request with its own `contextExtraKeys`.
 */
export class MeshContextClsPlugin extends ClsPluginBase {
  constructor() {
    // A plugin's name names its hooks provider: unique per module instance.
    super(`@datapunk/mesh-client:context#${String(++instances)}`);
    this.registerHooks({
      useFactory: () => ({
        afterSetup: (cls, init) => {
          const source = sourceOfClsInit(init);
          if (source) cls.set(PENDING_REQUEST_KEY, { ...source, receivedAt: Date.now() });
        },
      }),
    });
  }
}
