import { Module, type BeforeApplicationShutdown, type DynamicModule, type OnModuleInit } from '@nestjs/common';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import { MESH_OPTIONS_OVERRIDE, type MeshOptionsOverride } from '../module/mesh-client.tokens.js';
import { pointAtFakes } from './fake-options.js';
import { MeshFake } from './mesh-fake.js';

/** The fakes of one testing module: checks that each met its client, and closes them with the module. */
class FakesLifecycle implements OnModuleInit, BeforeApplicationShutdown {
  /** Every client name of the application's MeshClientModules. */
  private readonly clients = new Set<string>();
  readonly override: MeshOptionsOverride = (raw) => {
    try {
      return pointAtFakes(raw, this.fakes, this.clients);
    } catch (error) {
      void this.close();
      throw error;
    }
  };

  constructor(private readonly fakes: ReadonlyMap<string, MeshFake>) {}

  /** Every fake must have met its client: a name no MeshClientModule has is a mistake. */
  async onModuleInit(): Promise<void> {
    const unknown = [...this.fakes.keys()].filter((name) => !this.clients.has(name));
    if (unknown.length === 0) return;
    await this.close();
    throw new MeshConfigError(
      `MeshTestingModule.withFakes: no mesh client named ${unknown.map((n) => `'${n}'`).join(', ')}` +
        (this.clients.size > 0 ? ` (clients: ${[...this.clients].join(', ')})` : ' (the application imports no MeshClientModule)'),
    );
  }

  /** Closes the fakes before the clients close, so that no call the fake holds delays the clients' drain. */
  beforeApplicationShutdown(): Promise<void> {
    return this.close();
  }

  private async close(): Promise<void> {
    await Promise.all([...this.fakes.values()].map((fake) => fake.close()));
  }
}

/**
 * Wiring of fakes into a `@nestjs/testing` module: import `MeshTestingModule.withFakes({ inventory:
 * fake })` next to the application's module, and the clients named there reach their fakes
 * (plaintext on loopback, or mutual TLS with the fake's certificates when it was started with
 * `{ tls: true }`), with every other option (retry, breaker, deadlines, plugins, metrics) as the
 * application configured it. The fakes close with the testing module.
 *
 * @example
 * const moduleRef = await Test.createTestingModule({
 *   imports: [AppModule, MeshTestingModule.withFakes({ inventory, pricing })],
 * }).compile();
 */
@Module({})
export class MeshTestingModule {
  /** The module pointing the named clients at `fakes`; a fake's name must be a client of the application. */
  static withFakes(fakes: Record<string, MeshFake>): DynamicModule {
    if (typeof fakes !== 'object' || fakes === null || Array.isArray(fakes)) {
      throw new MeshConfigError('MeshTestingModule.withFakes(fakes): fakes must be an object { [clientName]: MeshFake }');
    }
    for (const [name, fake] of Object.entries(fakes)) {
      if (!(fake instanceof MeshFake)) {
        throw new MeshConfigError(
          `MeshTestingModule.withFakes(fakes): fakes.${name} must be a MeshFake (await MeshFake.start(...)), got ${typeof fake}`,
        );
      }
    }
    const lifecycle = new FakesLifecycle(new Map(Object.entries(fakes)));
    return {
      module: MeshTestingModule,
      global: true,
      providers: [
        { provide: MESH_OPTIONS_OVERRIDE, useValue: lifecycle.override },
        { provide: FakesLifecycle, useValue: lifecycle },
      ],
      exports: [MESH_OPTIONS_OVERRIDE],
    };
  }
}
