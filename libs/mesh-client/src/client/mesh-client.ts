import { credentials, makeGenericClientConstructor, status as Status } from '@grpc/grpc-js';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import { throwError, type Observable } from 'rxjs';
import { didYouMean } from '../errors/did-you-mean.js';
import { callerError, localError } from '../errors/to-mesh-error.js';
import { callIterable } from './call-iterator.js';
import { FLOW_CONTROL } from './flow-control.js';
import type { MeshClientPatch } from '../module/mesh-client-options.interface.js';
import type { ResolvedClientOptions } from '../module/resolved-options.interface.js';
import type { CallOptions } from './call-options.interface.js';
import { CallPipeline, type CallRetryResolver } from './call-pipeline.js';
import { pipelinePolicy, type PipelineDeps, type PipelinePolicy } from './pipeline-policy.js';
import { createChannels } from './channel.js';
import type { TlsMaterial } from '../security/tls-credentials.js';
import { ChannelPool } from './channel-pool.js';
import { TlsWatcher } from '../security/tls-watcher.js';
import { CallTelemetry } from '../observability/call-telemetry.js';
import { CallTracer } from '../observability/call-tracer.js';
import { endpointOf } from '../module/target.js';
import { semconvMode } from '../observability/semconv.js';
import { GrpcHealthClient } from '../health/grpc-health.client.js';
import type { HealthStatus } from '../health/health-status.js';
import { buildMethodTable, methodLookup, type CallKind, type MethodInfo } from './method-table.js';
import { buildServiceProxy } from './service-proxy.js';
import type { ExplicitRequest, MeshMethodName, MeshRequestOf, MeshResponseOf, MeshRpcKey } from './typed-client.js';
import { probeControlPlane, type ControlPlaneState } from '../xds/control-plane-probe.js';

/** Validation of run-time changes, supplied by the module (clients do not import it). */
export interface MeshClientValidators {
  patch: (current: ResolvedClientOptions, patch: MeshClientPatch) => ResolvedClientOptions;
  callRetry: CallRetryResolver;
}

/** What to call for each kind of RPC. */
const TO_CALL: Record<CallKind, string> = { unary: 'unary()', 'server-stream': 'serverStream() or iterate()', 'client-stream': 'clientStream()', bidi: 'bidiStream() or iterate()' };
const CALLED: Record<CallKind, string> = { unary: 'unary()', 'server-stream': 'serverStream()', 'client-stream': 'clientStream()', bidi: 'bidiStream()' };

/** Options of `iterate()`: a call's options and how far the consumer may fall behind. */
export type IterateOptions = CallOptions & {
  /** Messages the loop may fall behind before the stream is paused. Default 16. */
  highWaterMark?: number;
};

/**
 * The client of one remote service. Every call is a cold Observable: nothing is sent before
 * subscription, each subscription is one call, unsubscribing cancels it on the wire.
 *
 * @example
 * constructor(@InjectMeshClient('inventory') private readonly inventory: MeshClient) {}
 * getItem(id: string) { return this.inventory.unary<GetItemRequest, Item>('GetItem', { id }); }
 */
export class MeshClient<S = unknown> {
  private policy: PipelinePolicy;
  private readonly methods: ReadonlyMap<string, MethodInfo>;
  private readonly lookup: ReadonlyMap<string, MethodInfo>;
  private readonly pipeline: CallPipeline;
  private readonly channels: ChannelPool;
  private readonly watcher: TlsWatcher | undefined;
  private material: TlsMaterial | undefined;
  private closing: Promise<void> | undefined;
  private proxy: Record<string, unknown> | undefined;
  private readonly health: GrpcHealthClient;

  private readonly revalidate: MeshClientValidators['patch'];
  private readonly deps: PipelineDeps;

  /**
   * @internal built by MeshClientModule from validated options, with the validators of `update()`
   * patches and per-call retry overrides, and optionally a clock and randomness.
   */
  constructor(options: ResolvedClientOptions, validators: MeshClientValidators, deps: Partial<PipelineDeps> = {}) {
    this.revalidate = validators.patch;
    const metrics = options.metrics ? deps.metrics : undefined;
    const onBreakerChange = metrics
      ? (change: Parameters<NonNullable<PipelineDeps['onBreakerChange']>>[0]) => {
          metrics.circuit(options.name, change.scope, change.to);
          deps.onBreakerChange?.(change);
        }
      : deps.onBreakerChange;
    this.deps = { ...deps, now: deps.now ?? Date.now, random: deps.random ?? Math.random, onBreakerChange };
    this.methods = buildMethodTable(options.name, options.serviceName, options.serviceDefinition, options.maxMessageBytes, options.fieldNaming);
    this.policy = pipelinePolicy(options, this.deps, this.methods);
    metrics?.retryBudget(options.name, () => this.policy.budget?.canRetry() === false);
    this.lookup = methodLookup(this.methods.values());
    this.material = options.tlsMaterial;
    this.channels = new ChannelPool(createChannels(options, this.material));
    this.health = new GrpcHealthClient(this.channels, options.name, options.maxMessageBytes, this.deps.random);
    const tracer = options.tracing ? new CallTracer(semconvMode(process.env.OTEL_SEMCONV_STABILITY_OPT_IN), endpointOf(options.target)) : undefined;
    const telemetry = metrics || tracer ? new CallTelemetry(metrics, tracer) : undefined;
    this.pipeline = new CallPipeline(this.channels, () => this.policy, this.deps, validators.callRetry, telemetry);
    if (options.tls?.watch) {
      this.watcher = new TlsWatcher(options.tls, {
        onReload: (material) => {
          this.material = material;
          this.channels.replace(createChannels(this.policy.options, material));
          this.deps.logger?.log(`client '${this.name}': TLS credentials reloaded; new calls use them`);
        },
        onError: (message) => this.deps.logger?.warn(`client '${this.name}': ${message}`),
      });
      this.watcher.start();
    }
  }

  /** The client's name, as given in its options. */
  get name(): string {
    return this.policy.options.name;
  }

  /** Fully qualified proto service, e.g. 'demo.Inventory'. */
  get serviceName(): string {
    return this.policy.options.serviceName;
  }

  /**
   * One request, one response. On a client typed by a service interface (`MeshClient<S>`, e.g.
   * ts-proto's `nestJs=true` client), the method name, request and response are checked:
   * `client.unary('getItem', { id })` is an `Observable<Item>`.
   */
  unary<K extends MeshMethodName<S>>(method: K, request: MeshRequestOf<S, MeshRpcKey<S, K>>, options?: CallOptions): Observable<MeshResponseOf<S, MeshRpcKey<S, K>>>;
  unary<Req = ExplicitRequest<S>, Res = unknown>(method: MeshMethodName<S>, request: NoInfer<Req>, options?: CallOptions): Observable<Res>;
  unary(method: string, request: unknown, options?: CallOptions): Observable<unknown> {
    return this.start('unary', method, request, options);
  }

  /** One request, a stream of responses. */
  serverStream<K extends MeshMethodName<S>>(method: K, request: MeshRequestOf<S, MeshRpcKey<S, K>>, options?: CallOptions): Observable<MeshResponseOf<S, MeshRpcKey<S, K>>>;
  serverStream<Req = ExplicitRequest<S>, Res = unknown>(method: MeshMethodName<S>, request: NoInfer<Req>, options?: CallOptions): Observable<Res>;
  serverStream(method: string, request: unknown, options?: CallOptions): Observable<unknown> {
    return this.start('server-stream', method, request, options);
  }

  /** A stream of requests (sent while subscribed), one response. */
  clientStream<K extends MeshMethodName<S>>(method: K, requests: MeshRequestOf<S, MeshRpcKey<S, K>>, options?: CallOptions): Observable<MeshResponseOf<S, MeshRpcKey<S, K>>>;
  clientStream<Req = ExplicitRequest<S>, Res = unknown>(method: MeshMethodName<S>, requests: Observable<NoInfer<Req>>, options?: CallOptions): Observable<Res>;
  clientStream(method: string, requests: unknown, options?: CallOptions): Observable<unknown> {
    return this.start('client-stream', method, requests, options);
  }

  /** Requests and responses both streamed. */
  bidiStream<K extends MeshMethodName<S>>(method: K, requests: MeshRequestOf<S, MeshRpcKey<S, K>>, options?: CallOptions): Observable<MeshResponseOf<S, MeshRpcKey<S, K>>>;
  bidiStream<Req = ExplicitRequest<S>, Res = unknown>(method: MeshMethodName<S>, requests: Observable<NoInfer<Req>>, options?: CallOptions): Observable<Res>;
  bidiStream(method: string, requests: unknown, options?: CallOptions): Observable<unknown> {
    return this.start('bidi', method, requests, options);
  }

  /**
   * A server-streaming or bidi call as an AsyncIterable, flow-controlled: when the loop body falls
   * `highWaterMark` messages behind (default 16), the stream is paused and HTTP/2 flow control
   * holds the server back; Observable consumers (e.g. `concatMap`) would buffer without limit.
   * Leaving the loop cancels the call. Requests of a bidi call: an Observable, array, iterable or
   * AsyncIterable.
   *
   * @example
   * for await (const level of inventory.iterate<WatchRequest, StockLevel>('WatchStock', { id })) await slowWork(level);
   */
  iterate<Req = unknown, Res = unknown>(method: string, request: Req | Observable<Req> | AsyncIterable<Req>, options?: IterateOptions): AsyncIterable<Res> {
    const { highWaterMark, ...callOptions } = options ?? {};
    const found = this.lookup.get(method);
    const kind: CallKind = found?.kind === 'bidi' ? 'bidi' : 'server-stream';
    if (highWaterMark !== undefined && !(Number.isInteger(highWaterMark) && highWaterMark >= 1)) {
      const site = found?.site ?? { client: this.name, service: this.serviceName, method: String(method), maxMessageBytes: this.policy.options.maxMessageBytes };
      const error = callerError(site, `iterate() highWaterMark must be a whole number >= 1, got ${String(highWaterMark)}`);
      return callIterable(() => throwError(() => error));
    }
    return callIterable<Res>((flow) => this.start(kind, method, request, { ...callOptions, [FLOW_CONTROL]: flow } as CallOptions, 'iterate()'), highWaterMark);
  }

  /**
   * A typed object with one function per RPC, under every name Nest's `ClientGrpc.getService()`
   * gives it (RPC name and Nest's camelCase) and the lowerCamel RPC name:
   * `getService<Inv>().getItem(req, metadataOrCallOptions?)`.
   */
  getService<T = S>(serviceName?: string): T {
    if (serviceName !== undefined) this.assertService(serviceName, 'getService');
    this.proxy ??= buildServiceProxy(this.methods, (m, req, opts) => this.pipeline.call(m, req, opts));
    return this.proxy as T;
  }

  /**
   * A plain grpc-js client of the service on this client's current channel, as Nest's
   * `ClientGrpc.getClientByServiceName()` gives it (callback-style methods). Its calls bypass
   * everything this library adds (deadlines, retry, breaker, plugins, metrics): for code written
   * against ClientGrpc's raw client only.
   */
  getClientByServiceName<T = unknown>(serviceName: string): T {
    this.assertService(serviceName, 'getClientByServiceName');
    const Ctor = makeGenericClientConstructor(this.policy.options.serviceDefinition as never, this.serviceName);
    return new Ctor(this.policy.options.target, credentials.createInsecure(), { channelOverride: this.channels.primary.getChannel() }) as T;
  }

  /** `name` (short or fully qualified) must be this client's service. */
  private assertService(name: string, caller: string): void {
    const full = this.serviceName;
    if (name === full || name === full.slice(full.lastIndexOf('.') + 1)) return;
    throw new MeshConfigError(`${caller}('${String(name).slice(0, 100)}'): client '${this.name}' serves ${full}; each mesh client is one service (register one client per service)`);
  }

  /**
   * Changes timeouts, retry, breaker, per-method policies or metadata for calls started from now
   * on; calls in flight finish under the policy they started with. An invalid patch throws
   * MeshConfigError and the old policy stays in force. A changed breaker policy starts fresh
   * breakers; a changed budget a full bucket.
   */
  update(patch: MeshClientPatch): void {
    const before = this.policy.options;
    this.policy = pipelinePolicy(this.revalidate(before, patch), this.deps, this.methods, this.policy);
    const after = this.policy.options;
    if (after.target !== before.target || after.poolSize !== before.poolSize) this.channels.replace(createChannels(after, this.material));
  }

  /**
   * grpc.health.v1 Check of `service` ('' = the server) with a real deadline (default 5 s),
   * bypassing retry and breaker. Rejects with a MeshClientError when the server is unreachable.
   */
  checkHealth(service?: string, options?: { timeoutMs?: number }): Promise<HealthStatus> {
    return this.health.checkHealth(service, options?.timeoutMs);
  }

  /** grpc.health.v1 Watch: status changes only, reconnecting with backoff ('UNKNOWN' while down). */
  watchHealth(service?: string): Observable<HealthStatus> {
    return this.health.watchHealth(service);
  }

  /**
   * For an `xds:///` client: whether its xDS control plane (the bootstrap's first server) accepts
   * connections right now (default timeout 1 s); undefined for other targets. While it is away,
   * calls keep going to the endpoints it last sent (grpc-js-xds caches them).
   */
  async checkControlPlane(options?: { timeoutMs?: number }): Promise<ControlPlaneState | undefined> {
    const xds = this.policy.options.xds;
    return xds ? probeControlPlane(xds.serverUri, options?.timeoutMs ?? 1000) : undefined;
  }

  /** State of the circuit breaker guarding `method` (or the client, with scope 'client'). */
  breakerState(method?: string): 'closed' | 'open' | 'half-open' {
    return this.policy.breakers?.state(method) ?? 'closed';
  }

  /** Calls in flight right now. */
  get inflight(): number {
    return this.pipeline.inflightCount;
  }

  /**
   * Graceful shutdown: refuses new calls at once, gives calls in flight up to `drainTimeoutMs` to
   * finish, cancels the rest, then closes every channel. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const reason = `client '${this.name}' is closed (the application is shutting down); no new calls are accepted`;
      await this.pipeline.shutdown(reason, this.policy.options.drainTimeoutMs);
      this.watcher?.stop();
      this.channels.close();
    })();
    return this.closing;
  }

  private start<T>(kind: CallKind, name: string, request: unknown, options: CallOptions | undefined, via = CALLED[kind]): Observable<T> {
    const method = typeof name === 'string' ? this.lookup.get(name) : undefined;
    if (method?.kind === kind) return this.pipeline.call<T>(method, request, options);
    const shown = typeof name === 'string' ? name.slice(0, 100) : `(a ${typeof name})`;
    const site = { client: this.name, service: this.serviceName, method: shown, maxMessageBytes: this.policy.options.maxMessageBytes };
    if (!method) {
      const known = [...this.methods.keys()].join(', ');
      const near = typeof name === 'string' ? didYouMean(name, this.lookup.keys()) : '';
      return throwError(() => localError(site, Status.UNIMPLEMENTED, `'${shown}' is not an RPC of ${this.serviceName} (RPCs: ${known})${near}; nothing was sent`));
    }
    return throwError(() =>
      localError(site, Status.INVALID_ARGUMENT, `'${method.name}' is a ${method.kind} RPC: call ${TO_CALL[method.kind]}, not ${via}; nothing was sent`),
    );
  }
}
