import { Body, Controller, DefaultValuePipe, Get, Param, ParseIntPipe, Post, Query, UseFilters } from '@nestjs/common';
import type { ImportSummary, Item, Reservation, ReservationResult, StockLevel } from '../inventory.types.js';
import { InventoryGateway } from './inventory.gateway.js';
import { MeshErrorFilter } from './mesh-error.filter.js';

/** HTTP front of the inventory service. */
@Controller('items')
@UseFilters(MeshErrorFilter)
export class InventoryHttpController {
  constructor(private readonly gateway: InventoryGateway) {}

  @Get(':id')
  getItem(@Param('id') id: string): Promise<Item> {
    return this.gateway.getItem(id);
  }

  @Get(':id/stock')
  watchStock(@Param('id') id: string, @Query('updates', new DefaultValuePipe(3), ParseIntPipe) updates: number): Promise<StockLevel[]> {
    return this.gateway.watchStock(id, updates);
  }

  @Post('import')
  importItems(@Body() items: Item[]): Promise<ImportSummary> {
    return this.gateway.importItems(items);
  }

  @Post('reserve')
  reserve(@Body() reservations: Reservation[]): Promise<ReservationResult[]> {
    return this.gateway.reserve(reservations);
  }
}
