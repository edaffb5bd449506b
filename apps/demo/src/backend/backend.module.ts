import { Module } from '@nestjs/common';
import { DemoFaults } from './demo-faults.js';
import { InventoryController } from './inventory.controller.js';

/** The demo's gRPC backend (served as a Nest microservice). */
@Module({ controllers: [InventoryController], providers: [DemoFaults] })
export class BackendModule {}
