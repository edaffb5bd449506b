import { Controller } from '@nestjs/common';
import { GrpcMethod, GrpcStreamMethod, RpcException } from '@nestjs/microservices';
import { status } from '@grpc/grpc-js';
import { interval, map, take, toArray, type Observable } from 'rxjs';
import type { GetItemRequest, ImportSummary, Item, Reservation, ReservationResult, StockLevel, WatchStockRequest } from '../inventory.types.js';

/** The embedded gRPC backend: an in-memory inventory. */
@Controller()
export class InventoryController {
  private readonly items = new Map<string, Item>([
    ['apple', { id: 'apple', name: 'Apple', stock: 12 }],
    ['pear', { id: 'pear', name: 'Pear', stock: 3 }],
  ]);

  @GrpcMethod('Inventory', 'GetItem')
  getItem(request: GetItemRequest): Item {
    const item = this.items.get(request.id);
    if (!item) throw new RpcException({ code: status.NOT_FOUND, message: `no item '${request.id}'` });
    return item;
  }

  @GrpcMethod('Inventory', 'WatchStock')
  watchStock(request: WatchStockRequest): Observable<StockLevel> {
    const start = this.items.get(request.id)?.stock ?? 0;
    return interval(20).pipe(
      take(Math.max(1, request.updates || 3)),
      map((seq) => ({ id: request.id, stock: Math.max(0, start - seq), seq })),
    );
  }

  @GrpcStreamMethod('Inventory', 'ImportItems')
  importItems(items: Observable<Item>): Observable<ImportSummary> {
    return items.pipe(
      map((item) => {
        this.items.set(item.id, item);
        return item.id;
      }),
      toArray(),
      map((ids) => ({ imported: ids.length, ids })),
    );
  }

  @GrpcStreamMethod('Inventory', 'Reserve')
  reserve(reservations: Observable<Reservation>): Observable<ReservationResult> {
    return reservations.pipe(
      map(({ id, quantity }) => {
        const item = this.items.get(id);
        const ok = item !== undefined && item.stock >= quantity;
        if (item && ok) item.stock -= quantity;
        return { id, ok, remaining: item?.stock ?? 0 };
      }),
    );
  }
}
