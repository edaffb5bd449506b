import { Controller } from '@nestjs/common';
import { GrpcMethod, GrpcStreamMethod, RpcException } from '@nestjs/microservices';
import { status, type Metadata, type ServerUnaryCall } from '@grpc/grpc-js';
import { interval, map, take, timer, toArray, type Observable } from 'rxjs';
import { DemoFaults } from './demo-faults.js';
import type { GetItemRequest, ImportSummary, Item, Reservation, ReservationResult, StockLevel, WatchStockRequest } from '../inventory.types.js';

/** The embedded gRPC backend: an in-memory inventory. */
@Controller()
export class InventoryController {
  private readonly items = new Map<string, Item>([
    ['apple', { id: 'apple', name: 'Apple', stock: 12 }],
    ['pear', { id: 'pear', name: 'Pear', stock: 3 }],
  ]);

  constructor(private readonly faults: DemoFaults) {}

  /**
   * One item. The tour steers it: an outage fails every call; `x-demo-fail-once: <key>` fails the
   * first attempt of that key; the item 'slow' takes a second.
   */
  @GrpcMethod('Inventory', 'GetItem')
  getItem(request: GetItemRequest, metadata: Metadata, call: ServerUnaryCall<unknown, unknown>): Item | Observable<Item> {
    this.faults.lastPeer = call.getAuthContext().sslPeerCertificate?.subjectaltname;
    const deadline = call.getDeadline();
    const at = deadline instanceof Date ? deadline.getTime() : deadline;
    this.faults.lastDeadlineMs = Number.isFinite(at) ? at - Date.now() : undefined;
    const failOnce = metadata.get('x-demo-fail-once')[0];
    if (this.faults.outage || (failOnce !== undefined && this.faults.firstTime(String(failOnce)))) {
      throw new RpcException({
        code: status.UNAVAILABLE,
        message: this.faults.outage ? 'the backend is down (demo outage)' : 'injected failure (x-demo-fail-once)',
      });
    }
    if (request.id === 'slow') return timer(1000).pipe(map(() => ({ id: 'slow', name: 'Slow', stock: 1 })));
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
