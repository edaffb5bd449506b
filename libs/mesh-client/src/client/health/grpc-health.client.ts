import { HEALTH_DEFAULTS } from '../../config/defaults.js';
import { Metadata, status as Status } from '@grpc/grpc-js';
import { Observable, distinctUntilChanged, type Subscription } from 'rxjs';
import { attempt$ } from '../attempts.js';
import type { ChannelPool } from '../channel-pool.js';
import { buildMethodTable, type MethodInfo } from '../method-table.js';
import type { MeshClientError } from '../../errors/mesh-client.error.js';
import { backoffDelay } from '../../resilience/backoff.js';
import { healthService } from './health-proto.js';
import { statusOf, type HealthStatus } from './health-status.js';

/** Reconnection backoff of a health Watch. */
const WATCH_BACKOFF = { initialBackoffMs: 100, maxBackoffMs: 5_000, backoffMultiplier: 2, jitter: 0.2 };

/**
 * The gRPC health protocol (grpc.health.v1) over a client's own channel. Health calls bypass retry
 * and the breaker, so they never count in breaker statistics.
 */
export class GrpcHealthClient {
  private readonly check: MethodInfo;
  private readonly watch: MethodInfo;

  constructor(
    private readonly channels: ChannelPool,
    client: string,
    maxMessageBytes: number,
    private readonly random: () => number = Math.random,
  ) {
    const table = buildMethodTable(client, 'grpc.health.v1.Health', healthService(), maxMessageBytes, 'exact');
    this.check = table.get('Check')!;
    this.watch = table.get('Watch')!;
  }

  /**
   * Health/Check with a real deadline (cancelled on the wire when it passes). A NOT_FOUND answer
   * means the server does not know the service: 'SERVICE_UNKNOWN'. Other failures reject with a
   * MeshClientError.
   */
  checkHealth(service = '', timeoutMs: number = HEALTH_DEFAULTS.checkTimeoutMs): Promise<HealthStatus> {
    return new Promise((resolve, reject) => {
      const call = {
        channels: this.channels,
        method: this.check,
        request: this.check.encode({ service }),
        metadata: new Metadata(),
        deadline: Date.now() + timeoutMs,
        attempt: 1,
      };
      attempt$(call).subscribe({
        next: (response) => resolve(statusOf(response)),
        error: (error: MeshClientError) => (error.code === Status.NOT_FOUND ? resolve('SERVICE_UNKNOWN') : reject(error)),
      });
    });
  }

  /**
   * Health/Watch as an Observable of changes only. When the stream breaks (or the server is
   * unreachable) it emits 'UNKNOWN' and reconnects with jittered exponential backoff (100 ms ..
   * 5 s). A server without the health service (UNIMPLEMENTED) ends it with that error.
   */
  watchHealth(service = ''): Observable<HealthStatus> {
    return new Observable<HealthStatus>((subscriber) => {
      let failures = 0;
      let stream: Subscription | undefined;
      let timer: NodeJS.Timeout | undefined;
      const broken = (error?: MeshClientError): void => {
        if (error?.code === Status.UNIMPLEMENTED) return subscriber.error(error);
        subscriber.next('UNKNOWN');
        timer = setTimeout(connect, backoffDelay(++failures, WATCH_BACKOFF, this.random));
      };
      const connect = (): void => {
        const call = {
          channels: this.channels,
          method: this.watch,
          request: this.watch.encode({ service }),
          metadata: new Metadata(),
          deadline: Infinity,
          attempt: 1,
        };
        stream = attempt$(call).subscribe({
          next: (response) => {
            failures = 0;
            subscriber.next(statusOf(response));
          },
          error: (error: MeshClientError) => broken(error),
          complete: () => broken(),
        });
      };
      connect();
      return () => {
        clearTimeout(timer);
        stream?.unsubscribe();
      };
    }).pipe(distinctUntilChanged());
  }
}
