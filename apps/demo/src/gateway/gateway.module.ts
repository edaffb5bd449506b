import { Module, type DynamicModule } from '@nestjs/common';
import { MeshClientModule } from '@datapunk/mesh-client';
import { TerminusModule } from '@nestjs/terminus';
import { PrometheusModule } from '@willsoto/nestjs-prometheus';
import { HealthHttpController } from './health-http.controller.js';
import { INVENTORY_PACKAGE, INVENTORY_PROTO } from '../inventory.types.js';
import { InventoryHttpController } from './inventory-http.controller.js';
import { InventoryGateway } from './inventory.gateway.js';
import { AttemptJournal } from './attempt-journal.plugin.js';

/** Where the gateway finds its backend, and its mTLS material (file paths). */
export class DemoConfig {
  constructor(
    readonly inventoryTarget: string,
    readonly tls: { ca: string; cert: string; key: string; expectedServerIds: string[] },
  ) {}
}

/** The HTTP gateway: calls the inventory backend through @datapunk/mesh-client. */
@Module({})
export class GatewayModule {
  static register(config: DemoConfig, journal = new AttemptJournal()): DynamicModule {
    const configModule: DynamicModule = {
      module: class DemoConfigModule {},
      providers: [{ provide: DemoConfig, useValue: config }],
      exports: [DemoConfig],
    };
    return {
      module: GatewayModule,
      imports: [
        PrometheusModule.register(), // GET /metrics
        TerminusModule,
        MeshClientModule.forRootAsync({
          clientNames: ['inventory', 'inventory-breaker', 'impostor-check'],
          imports: [configModule],
          plugins: [journal],
          inject: [DemoConfig],
          useFactory: (c: DemoConfig) => {
            const inventory = {
              target: c.inventoryTarget,
              proto: { path: INVENTORY_PROTO, package: INVENTORY_PACKAGE, service: 'Inventory' },
              // mTLS: the gateway's SPIFFE certificate; the backend must present the inventory id.
              tls: { ...c.tls, serverName: 'localhost', watch: true },
            };
            return {
              defaults: { timeoutMs: 5_000 },
              clients: [
                { name: 'inventory', ...inventory },
                // for the tour: a breaker that opens after 3 failures in a row and probes after 1 s
                { name: 'inventory-breaker', ...inventory, retry: false, breaker: { consecutiveFailures: 3, openMs: 1000 } },
                // for the tour: a client that expects another workload identity than the backend's
                {
                  name: 'impostor-check',
                  ...inventory,
                  retry: false,
                  tls: { ...inventory.tls, expectedServerIds: ['spiffe://datapunk.local/ns/demo/sa/payments'] },
                },
              ],
            };
          },
        }),
      ],
      controllers: [InventoryHttpController, HealthHttpController],
      providers: [InventoryGateway, { provide: AttemptJournal, useValue: journal }],
      exports: [InventoryGateway],
    };
  }
}
