import { Injectable } from '@nestjs/common';
import { HealthIndicatorService, type HealthIndicatorResult } from '@nestjs/terminus';
import { MeshClientRegistry } from '../client/mesh-client.registry.js';
import { HEALTH_DEFAULTS } from '../config/defaults.js';
import { isLocalFailure, isMeshClientError } from '../errors/mesh-client.error.js';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import type { ControlPlaneState } from '../xds/control-plane-probe.js';

/** `{ controlPlane }` for an xds client, nothing for others. */
function controlPlaneDetails(state: ControlPlaneState | undefined): { controlPlane?: ControlPlaneState } {
  return state ? { controlPlane: state } : {};
}

/** Options of one health check through a mesh client. */
export interface MeshHealthCheckOptions {
  /** Name of the mesh client whose backend is checked. */
  client: string;
  /** Service name for grpc.health.v1 ('' = the whole server). */
  service?: string;
  /** Deadline of the check. Default 5000. */
  timeoutMs?: number;
}

/** Categories of a check no server answered: none reached, nothing sent (an open breaker), or stopped here (shutdown). */
const NO_ANSWER = new Set(['unavailable', 'circuit-open', 'cancelled']);

/**
 * `servingStatus` of a check that failed: 'TIMEOUT', 'NOT_CHECKED' (the check's own options were
 * refused here), the status of a server that answered with one ('UNIMPLEMENTED': no health
 * service; 'UNAUTHENTICATED', 'PERMISSION_DENIED': behind authorization; 'INTERNAL', 'UNKNOWN', ...:
 * it failed the check), else 'UNREACHABLE' (no answer, or none that could be read).
 */
function failedCheckStatus(error: unknown): string {
  if (!isMeshClientError(error)) return 'UNREACHABLE';
  if (error.category === 'timeout') return 'TIMEOUT';
  if (error.category === 'invalid-request') return 'NOT_CHECKED';
  return NO_ANSWER.has(error.category) || isLocalFailure(error) ? 'UNREACHABLE' : error.codeName;
}

/**
 * A Terminus health indicator speaking the gRPC health protocol through a mesh client's own
 * channel (no extra channel cache). Down when the service is not SERVING, unreachable, too slow,
 * or when the client's circuit breaker is open. Details: `{ status: 'up' | 'down', servingStatus,
 * breaker, latencyMs }` (`status` is Terminus' own; `servingStatus` the gRPC health status, or
 * 'TIMEOUT' / 'UNREACHABLE' / the status of a server that refused the check, e.g. 'UNIMPLEMENTED'); for an `xds:///` client also `controlPlane: 'reachable' |
 * 'unreachable'`, which does not turn the check down by itself: calls keep flowing to the
 * endpoints the control plane last sent.
 *
 * @example
 * @Get('health') @HealthCheck()
 * check() { return this.health.check([() => this.mesh.isHealthy('inventory', { client: 'inventory' })]); }
 */
@Injectable()
export class MeshHealthIndicator {
  /** @internal built by MeshClientModule (inject `MeshHealthIndicator`). */
  constructor(
    private readonly indicators: HealthIndicatorService,
    private readonly registry: MeshClientRegistry,
  ) {}

  /** Checks the backend of `options.client` (grpc.health.v1 Check) and reports it under `key`: up, or down with details. */
  async isHealthy(key: string, options: MeshHealthCheckOptions): Promise<HealthIndicatorResult> {
    const indicator = this.indicators.check(key);
    if (typeof options !== 'object' || options === null || typeof options.client !== 'string') {
      throw new MeshConfigError(
        `MeshHealthIndicator.isHealthy('${String(key).slice(0, 64)}', options): options.client must name a client, e.g. { client: 'inventory' }`,
      );
    }
    const client = this.registry.get(options.client);
    const started = performance.now();
    const probeMs = HEALTH_DEFAULTS.controlPlaneTimeoutMs;
    const timeoutMs = options.timeoutMs;
    const probeTimeoutMs = typeof timeoutMs === 'number' && timeoutMs > 0 ? Math.min(timeoutMs, probeMs) : probeMs;
    const controlPlane = client.checkControlPlane({ timeoutMs: probeTimeoutMs }).then(controlPlaneDetails);
    try {
      const servingStatus = await client.checkHealth(options.service, { timeoutMs: options.timeoutMs });
      const breaker = client.breakerState();
      const details = { servingStatus, breaker, latencyMs: Math.round(performance.now() - started), ...(await controlPlane) };
      return servingStatus === 'SERVING' && breaker !== 'open' ? indicator.up(details) : indicator.down(details);
    } catch (error) {
      const category = isMeshClientError(error) ? error.category : 'unknown';
      const servingStatus = failedCheckStatus(error);
      const latencyMs = Math.round(performance.now() - started);
      // a check that could not be made says why (its message names the option, never a secret)
      const reason = category === 'invalid-request' && isMeshClientError(error) ? { reason: error.details } : {};
      return indicator.down({ servingStatus, breaker: client.breakerState(), latencyMs, error: category, ...reason, ...(await controlPlane) });
    }
  }
}
