import { fileURLToPath } from 'node:url';
import { Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { MeshClientModule, type MeshTlsOptions } from '@datapunk/mesh-client';
import { MeshErrorFilter, ShopController } from './shop.controller.js';
import { ShopService } from './shop.service.js';

const proto = (name: string) => fileURLToPath(new URL(`./protos/${name}.proto`, import.meta.url));
export const inventoryProto = { path: proto('inventory'), package: 'shop.inventory', service: 'Inventory' };
export const pricingProto = { path: proto('pricing'), package: 'shop.pricing', service: 'Pricing' };

const tls: MeshTlsOptions = { ca: '/etc/mesh/ca.pem', cert: '/etc/mesh/tls.crt', key: '/etc/mesh/tls.key', watch: true };

@Module({
  imports: [
    MeshClientModule.forRoot({
      defaults: {
        tls,
        timeoutMs: 2_000,
        retry: { maxAttempts: 3, initialBackoffMs: 20 },
        breaker: { consecutiveFailures: 5, openMs: 30_000 },
        metadata: { 'x-caller': 'shop' },
      },
      clients: [
        { name: 'inventory', target: 'dns:///inventory.shop.svc.cluster.local:50051', proto: inventoryProto },
        { name: 'pricing', target: 'dns:///pricing.shop.svc.cluster.local:50051', proto: pricingProto, methods: { GetPrice: { timeoutMs: 300 } } },
      ],
    }),
  ],
  controllers: [ShopController],
  providers: [ShopService, { provide: APP_FILTER, useClass: MeshErrorFilter }],
})
export class ShopModule {}
