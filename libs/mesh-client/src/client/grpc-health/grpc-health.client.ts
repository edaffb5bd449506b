import { HEALTH_DEFAULTS, MAX_TIMER_MS, WATCH_BACKOFF } from '../../config/defaults.js';
import { Metadata, status as Status } from '@grpc/grpc-js';
import { Observable, distinctUntilChanged, type Subscriber } from 'rxjs';
import type { ChannelPool } from '../channels/channel-pool.js';
import { buildMethodTable, type MethodInfo } from '../../proto/method-table.js';
import { describeThrown } from '../../errors/describe-thrown.js';
import { isMeshClientError, type MeshClientError } from '../../errors/mesh-client.error.js';
import { callerError, localError } from '../../errors/to-mesh-error.js';
import { backoffDelay } from '../../resilience/backoff.js';
import { callScope } from '../call/call-scope.js';
import { WireAttempt } from '../call/wire-attempt.js';
import { healthService } from './health-proto.js';
import { statusOf, type HealthStatus } from './health-status.js';

/** A health Check or Watch in progress, ended by the client's close. */
interface Watcher {
  close(error: MeshClientError): void;
  /** The client's channels were replaced (update(), a certificate reload): a Watch moves over. */
  moveOver?(): void;
}

/**
 * The gRPC health protocol (grpc.health.v1) over a client's own channel. Health calls bypass retry
 * and the breaker, so they never count in breaker statistics. Checks and Watches in progress end
 * ('cancelled') when the client closes.
 */
export class GrpcHealthClient {
  private readonly check: MethodInfo;
  private readonly watch: MethodInfo;
  private readonly watchers = new Set<Watcher>();
  private closedReason: string | undefined;

  constructor(
    private readonly channels: ChannelPool,
    client: string,
    maxMessageBytes: number,
    private readonly random: () => number = Math.random,
  ) {
    const table = buildMethodTable(client, 'grpc.health.v1.Health', healthService(), maxMessageBytes, 'exact');
    this.check = table.get('Check')!;
    this.watch = table.get('Watch')!;
    // a Watch would go on asking the old target (its stream holds the old channel) until it broke
    channels.onReplace(() => {
      for (const watcher of [...this.watchers]) watcher.moveOver?.();
    });
  }

  /**
   * Health/Check with a real deadline (cancelled on the wire when it passes). A NOT_FOUND answer
   * means the server does not know the service: 'SERVICE_UNKNOWN'. Other failures reject with a
   * MeshClientError; so do a service that is no string and a timeout out of range ('invalid-request').
   */
  checkHealth(service: unknown = '', timeoutMs: unknown = HEALTH_DEFAULTS.checkTimeoutMs): Promise<HealthStatus> {
    const site = this.check.site;
    if (typeof timeoutMs !== 'number' || !(timeoutMs > 0 && timeoutMs <= MAX_TIMER_MS)) {
      const got = typeof timeoutMs === 'number' ? String(timeoutMs) : `a ${typeof timeoutMs}`;
      return Promise.reject(callerError(site, `checkHealth() timeoutMs must be a number > 0 and <= ${String(MAX_TIMER_MS)}, got ${got}`));
    }
    if (typeof service !== 'string') return Promise.reject(callerError(site, `checkHealth() service must be a string, got a ${typeof service}`));
    if (this.closedReason !== undefined) return Promise.reject(localError(site, Status.UNAVAILABLE, this.closedReason, { retryable: false }));
    let request: Buffer;
    try {
      request = this.check.encode({ service });
    } catch (error) {
      return Promise.reject(callerError(site, `checkHealth() service cannot be sent: ${describeThrown(error)}`));
    }
    return new Promise((resolve, reject) => {
      // the client's close ends it at once ('cancelled'), as it ends calls and Watches
      const inFlight: Watcher = {
        close: (error) => {
          wire.cancel();
          reject(localError(site, Status.CANCELLED, error.details));
        },
      };
      const wire = new WireAttempt<unknown>(this.spec(this.check), 1, {
        value: (response) => {
          this.watchers.delete(inFlight);
          resolve(statusOf(response));
        },
        end: (error) => {
          if (error === undefined) return;
          this.watchers.delete(inFlight);
          if (isMeshClientError(error) && error.code === Status.NOT_FOUND) resolve('SERVICE_UNKNOWN');
          else reject(error);
        },
      });
      this.watchers.add(inFlight);
      wire.start(new Metadata(), request, Date.now() + timeoutMs);
    });
  }

  /**
   * Health/Watch as an Observable of changes only. When the stream breaks (or the server is
   * unreachable) it emits 'UNKNOWN' and reconnects with jittered exponential backoff (100 ms ..
   * 5 s). A server without the health service (UNIMPLEMENTED) ends it with that error; so does the
   * client's close ('cancelled').
   */
  watchHealth(service: unknown = ''): Observable<HealthStatus> {
    return new Observable<HealthStatus>((subscriber) => {
      const site = this.watch.site;
      if (typeof service !== 'string') return subscriber.error(callerError(site, `watchHealth() service must be a string, got a ${typeof service}`));
      if (this.closedReason !== undefined) return subscriber.error(localError(site, Status.CANCELLED, this.closedReason));
      const watcher = new HealthWatch(this, subscriber, service);
      this.watchers.add(watcher);
      watcher.connect();
      return () => {
        this.watchers.delete(watcher);
        watcher.stop();
      };
    }).pipe(distinctUntilChanged());
  }

  /** A health check refused before it was made ('invalid-request', `problem` saying why). */
  refuse(problem: string): Promise<never> {
    return Promise.reject(callerError(this.check.site, problem));
  }

  /** Ends every Check and Watch in progress ('cancelled') and refuses new health calls: the client is closing. */
  close(reason: string): void {
    this.closedReason = reason;
    const error = localError(this.watch.site, Status.CANCELLED, reason);
    for (const watcher of [...this.watchers]) watcher.close(error);
    this.watchers.clear();
  }

  /** @internal one attempt of a health method on the client's channels. */
  spec(method: MethodInfo): { channels: ChannelPool; method: MethodInfo; connectTimeoutMs: number; flow: undefined } {
    return { channels: this.channels, method, connectTimeoutMs: 0, flow: undefined };
  }

  /** @internal the next reconnection delay. */
  backoff(failures: number): number {
    return backoffDelay(failures, WATCH_BACKOFF, this.random);
  }

  /** @internal the Watch method. */
  get watchMethod(): MethodInfo {
    return this.watch;
  }
}

/** One subscription of `watchHealth()`: the stream, and the wait before the next one. */
class HealthWatch implements Watcher {
  private failures = 0;
  private wire: WireAttempt<unknown> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  /** The subscriber's async context: what a status runs (a call chained on it) sees the subscriber's. */
  private readonly scope = callScope();

  constructor(
    private readonly health: GrpcHealthClient,
    private readonly subscriber: Subscriber<HealthStatus>,
    private readonly service: string,
  ) {}

  connect(): void {
    this.timer = undefined;
    if (this.stopped) return;
    const method = this.health.watchMethod;
    const wire = new WireAttempt<unknown>(
      this.health.spec(method),
      1,
      {
        value: (response) => {
          this.failures = 0;
          this.subscriber.next(statusOf(response));
        },
        end: (error) => this.wire === wire && this.broken(error),
      },
      undefined,
      this.scope,
    );
    this.wire = wire;
    try {
      wire.start(new Metadata(), method.encode({ service: this.service }), Infinity);
    } catch (error) {
      this.close(localError(method.site, Status.INTERNAL, `the health Watch could not start: ${describeThrown(error)}`, { local: true }));
    }
  }

  /** Ends the Watch with `error` (the client closing, a server without the service), in the subscriber's scope. */
  close(error: MeshClientError): void {
    if (this.stopped) return;
    this.stop();
    this.scope.runInAsyncScope(this.subscriber.error, this.subscriber, error);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.wire?.cancel();
    this.wire = undefined;
  }

  /** A new stream on the client's new channels, at once (its first status is emitted only if it changed), in the subscriber's scope. */
  moveOver(): void {
    if (!this.stopped) this.scope.runInAsyncScope(this.reconnect, this);
  }

  private reconnect(): void {
    const old = this.wire;
    this.wire = undefined;
    old?.cancel();
    if (this.timer) clearTimeout(this.timer);
    this.connect();
  }

  private broken(error: unknown): void {
    this.wire = undefined;
    if (this.stopped) return;
    if (isMeshClientError(error) && error.code === Status.UNIMPLEMENTED) return this.close(error);
    this.subscriber.next('UNKNOWN');
    if (this.stopped) return; // the subscriber left on it (takeWhile): no reconnect timer outlives it
    this.timer = setTimeout(() => this.connect(), this.health.backoff(++this.failures));
  }
}
