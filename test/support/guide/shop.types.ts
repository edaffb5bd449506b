import type { Metadata } from '@grpc/grpc-js';
import type { Observable } from 'rxjs';

// What ts-proto (nestJs=true) generates for protos/inventory.proto and protos/pricing.proto.

export interface GetItemRequest {
  sku: string;
}
export interface Item {
  sku: string;
  name: string;
  stock: number;
}
export interface InventoryClient {
  getItem(request: GetItemRequest, metadata?: Metadata): Observable<Item>;
}

export interface GetPriceRequest {
  sku: string;
  currency: string;
}
export interface Price {
  amountCents: number;
  currency: string;
}
export interface PricingClient {
  getPrice(request: GetPriceRequest, metadata?: Metadata): Observable<Price>;
}
