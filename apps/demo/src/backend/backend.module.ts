import { Module } from '@nestjs/common';
import { InventoryController } from './inventory.controller.js';

/** The demo's gRPC backend (served as a Nest microservice). */
@Module({ controllers: [InventoryController] })
export class BackendModule {}
