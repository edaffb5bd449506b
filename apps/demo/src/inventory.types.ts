import { fileURLToPath } from 'node:url';
import type { Observable } from 'rxjs';

/** The demo's proto, next to the compiled sources' parent folder. */
export const INVENTORY_PROTO = fileURLToPath(new URL('../proto/inventory.proto', import.meta.url));
export const INVENTORY_PACKAGE = 'demo.inventory';

export interface GetItemRequest {
  id: string;
}
export interface Item {
  id: string;
  name: string;
  stock: number;
}
export interface WatchStockRequest {
  id: string;
  updates: number;
}
export interface StockLevel {
  id: string;
  stock: number;
  seq: number;
}
export interface ImportSummary {
  imported: number;
  ids: string[];
}
export interface Reservation {
  id: string;
  quantity: number;
}
export interface ReservationResult {
  id: string;
  ok: boolean;
  remaining: number;
}

/** The typed view of the Inventory service that `MeshClient.getService()` returns. */
export interface InventoryService {
  getItem(request: GetItemRequest): Observable<Item>;
  watchStock(request: WatchStockRequest): Observable<StockLevel>;
  importItems(items: Observable<Item>): Observable<ImportSummary>;
  reserve(reservations: Observable<Reservation>): Observable<ReservationResult>;
}
