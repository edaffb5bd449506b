import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService, type HealthCheckResult } from '@nestjs/terminus';
import { MeshHealthIndicator } from '@datapunk/mesh-client';

/** GET /health: the backend's gRPC health (grpc.health.v1) and the client's breaker state. */
@Controller('health')
export class HealthHttpController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly mesh: MeshHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check(): Promise<HealthCheckResult> {
    return this.health.check([() => this.mesh.isHealthy('inventory', { client: 'inventory', service: 'demo.inventory.Inventory', timeoutMs: 1000 })]);
  }
}
