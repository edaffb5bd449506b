import { Injectable } from '@nestjs/common';
import { InjectMeshClient, type MeshClient } from '@datapunk/mesh-client';
import { from, lastValueFrom, toArray } from 'rxjs';
import type { ImportSummary, InventoryService, Item, Reservation, ReservationResult, StockLevel } from '../inventory.types.js';

/** Calls the inventory backend through the mesh client: one method per call kind. */
@Injectable()
export class InventoryGateway {
  private readonly inventory: InventoryService;

  constructor(@InjectMeshClient('inventory') client: MeshClient<InventoryService>) {
    this.inventory = client.getService();
  }

  getItem(id: string): Promise<Item> {
    return lastValueFrom(this.inventory.getItem({ id }));
  }

  watchStock(id: string, updates: number): Promise<StockLevel[]> {
    return lastValueFrom(this.inventory.watchStock({ id, updates }).pipe(toArray()));
  }

  importItems(items: Item[]): Promise<ImportSummary> {
    return lastValueFrom(this.inventory.importItems(from(items)));
  }

  reserve(reservations: Reservation[]): Promise<ReservationResult[]> {
    return lastValueFrom(this.inventory.reserve(from(reservations)).pipe(toArray()));
  }
}
