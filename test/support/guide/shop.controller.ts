import { ArgumentsHost, Catch, Controller, Get, HttpStatus, Param, type ExceptionFilter } from '@nestjs/common';
import { MeshClientError } from '@datapunk/mesh-client';
import { ShopService, type Product } from './shop.service.js';

@Controller('products')
export class ShopController {
  constructor(private readonly shop: ShopService) {}

  @Get(':sku')
  product(@Param('sku') sku: string): Promise<Product> {
    return this.shop.product(sku);
  }
}

/** A failed mesh call as HTTP: a dependency too slow is 504, one down (or its circuit open) 503. */
@Catch(MeshClientError)
export class MeshErrorFilter implements ExceptionFilter {
  catch(error: MeshClientError, host: ArgumentsHost): void {
    const status =
      error.category === 'timeout' ? HttpStatus.GATEWAY_TIMEOUT : error.retryable ? HttpStatus.SERVICE_UNAVAILABLE : HttpStatus.BAD_GATEWAY;
    host
      .switchToHttp()
      .getResponse<{ status(code: number): { json(body: unknown): void } }>()
      .status(status)
      .json({ error: error.category, service: error.client });
  }
}
