import { Injectable } from '@nestjs/common';
import { lastValueFrom } from 'rxjs';
import { InjectMeshClient, type MeshClient } from '@datapunk/mesh-client';
import type { InventoryClient, PricingClient } from './shop.types.js';

/** A product as the shop's HTTP API shows it: from the inventory and the pricing services. */
export interface Product {
  sku: string;
  name: string;
  inStock: boolean;
  price: number;
}

@Injectable()
export class ShopService {
  constructor(
    @InjectMeshClient('inventory') private readonly inventory: MeshClient<InventoryClient>,
    @InjectMeshClient('pricing') private readonly pricing: MeshClient<PricingClient>,
  ) {}

  async product(sku: string): Promise<Product> {
    const [item, price] = await Promise.all([
      lastValueFrom(this.inventory.unary('getItem', { sku })),
      lastValueFrom(this.pricing.unary('getPrice', { sku, currency: 'EUR' })),
    ]);
    return { sku, name: item.name, inStock: item.stock > 0, price: price.amountCents / 100 };
  }
}
