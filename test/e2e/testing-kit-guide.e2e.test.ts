// The example of docs/guide/testing.md, run: the guide quotes this file (a unit test checks it does).
import type { INestApplication } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MeshClientRegistry } from '@datapunk/mesh-client';
import { MeshFake, MeshTestingModule } from '@datapunk/mesh-client/testing';
import { ShopModule, inventoryProto, pricingProto } from '../support/guide/shop.module.js';
import type { InventoryClient, PricingClient } from '../support/guide/shop.types.js';

describe('GET /products/:sku', () => {
  let inventory: MeshFake;
  let pricing: MeshFake;
  let app: INestApplication;

  beforeEach(async () => {
    inventory = await MeshFake.start<InventoryClient>(inventoryProto, {
      getItem: ({ sku }) => ({ sku, name: `Item ${sku}`, stock: 3 }),
    });
    pricing = await MeshFake.start<PricingClient>(pricingProto, {
      getPrice: ({ currency }) => ({ amountCents: 1250, currency }),
    });
    const moduleRef = await Test.createTestingModule({
      imports: [ShopModule, MeshTestingModule.withFakes({ inventory, pricing })],
    }).compile();
    app = moduleRef.createNestApplication({ logger: false });
    await app.listen(0, '127.0.0.1');
  });
  afterEach(() => app.close()); // closes the fakes too

  const get = async (sku: string, headers: Record<string, string> = {}) => {
    const response = await fetch(`${await app.getUrl()}/products/${sku}`, { headers });
    return { status: response.status, body: (await response.json()) as unknown };
  };

  it('answers from both services', async () => {
    expect(await get('sku-1')).toEqual({ status: 200, body: { sku: 'sku-1', name: 'Item sku-1', inStock: true, price: 12.5 } });
  });

  it('retries an UNAVAILABLE inventory and still answers', async () => {
    inventory.failNext(2, 'UNAVAILABLE');
    expect(await get('sku-2')).toMatchObject({ status: 200, body: { name: 'Item sku-2' } });
    expect(inventory.calls('getItem')).toHaveLength(3);
  });

  it('answers 504 when pricing hangs past its 300 ms deadline', async () => {
    pricing.hang('getPrice');
    const started = performance.now();
    expect(await get('sku-3')).toEqual({ status: 504, body: { error: 'timeout', service: 'pricing' } });
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(pricing.lastCall('getPrice')?.deadlineLeftMs).toBeLessThanOrEqual(300);
  });

  it('opens the breaker when inventory keeps failing, then fails fast without calling it', async () => {
    inventory.failNext(100, 'UNAVAILABLE');
    expect(await get('sku-4')).toMatchObject({ status: 503 }); // 3 attempts
    expect(await get('sku-4')).toMatchObject({ status: 503 }); // 2 more: 5 in a row, the breaker opens
    expect(app.get(MeshClientRegistry).get('inventory').breakerState()).toBe('open');
    const calls = inventory.calls().length;
    expect(await get('sku-4')).toEqual({ status: 503, body: { error: 'circuit-open', service: 'inventory' } });
    expect(inventory.calls()).toHaveLength(calls);
  });

  it('sends what the fake received: the request, the request id of the HTTP call and the client metadata', async () => {
    await get('sku-5', { 'x-request-id': 'req-42' });
    expect(inventory.lastCall('getItem')).toMatchObject({
      request: { sku: 'sku-5' },
      metadata: { 'x-request-id': 'req-42', 'x-caller': 'shop' },
    });
    expect(pricing.lastCall()).toMatchObject({ method: 'GetPrice', request: { sku: 'sku-5', currency: 'EUR' } });
  });
});
