import { credentials, makeGenericClientConstructor } from '@grpc/grpc-js';
import { throwError, type Observable, type ObservableInput } from 'rxjs';
import { HEALTH_DEFAULTS } from '../config/defaults.js';
import type { MeshClientPatch } from '../config/mesh-client-options.interface.js';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import { probeControlPlane, type ControlPlaneState } from '../xds/control-plane-probe.js';
import { callIterable } from './call/call-iterator.js';
import type { CallOptions } from '../config/call-options.interface.js';
import type { CallCore } from './call/call-core.js';
import type { ClientState } from './client-state.js';
import type { FlowControl } from './call/flow-control.js';
import type { GrpcHealthClient } from './grpc-health/grpc-health.client.js';
import type { HealthStatus } from './grpc-health/health-status.js';
import type { CallKind, MethodInfo } from '../proto/method-table.js';
import { readIterateOptions } from '../options/call-options.js';
import { isMeshClientError } from '../errors/mesh-client.error.js';
import { describeThrown } from '../errors/describe-thrown.js';
import { CALL_OF_KIND, MethodResolver } from './method-resolver.js';
import { buildServiceProxy } from './service-proxy.js';
import type { ExplicitIterateRequest, ExplicitRequest, MeshIterateRequest, MeshMethodOf, MeshReq, MeshRes } from './typed-client.js';

/** The parts a client is made of (module/create-mesh-client.ts builds them). */
export interface MeshClientParts {
  readonly state: ClientState;
  readonly methods: ReadonlyMap<string, MethodInfo>;
  readonly calls: CallCore;
  readonly health: GrpcHealthClient;
  /** Stops what watches for changes (TLS files) when the client closes. */
  readonly stopWatching: () => void;
}

/** Options of `iterate()`: a call's options and how far the consumer may fall behind. */
export type IterateOptions = CallOptions & {
  /** Messages the loop may fall behind before the stream is paused. Default 16. */
  highWaterMark?: number;
};

/**
 * The client of one remote service. Every call is a cold Observable: nothing is sent before
 * subscription, each subscription is one call, unsubscribing cancels it on the wire.
 *
 * Typed by a ts-proto (`nestJs=true`) client interface `S`, calls check method names, requests and
 * responses; with its controller interface `C` too (it tells server streams from unary RPCs), each
 * call kind takes only the RPCs of that kind.
 *
 * @example
 * constructor(@InjectMeshClient('inventory') private readonly inventory: MeshClient) {}
 * getItem(id: string) { return this.inventory.unary<GetItemRequest, Item>('GetItem', { id }); }
 */
export class MeshClient<S = unknown, C = unknown> {
  private readonly state: ClientState;
  private readonly methods: ReadonlyMap<string, MethodInfo>;
  private readonly resolver: MethodResolver;
  private readonly calls: CallCore;
  private readonly health: GrpcHealthClient;
  private readonly stopWatching: () => void;
  private closing: Promise<void> | undefined;
  private proxy: Record<string, unknown> | undefined;

  /** @internal built by MeshClientModule (module/create-mesh-client.ts wires the parts). */
  constructor(parts: MeshClientParts) {
    this.state = parts.state;
    this.methods = parts.methods;
    const { name, serviceName, maxMessageBytes } = parts.state.options;
    this.resolver = new MethodResolver(parts.methods, { client: name, service: serviceName, maxMessageBytes });
    this.calls = parts.calls;
    this.health = parts.health;
    this.stopWatching = parts.stopWatching;
  }

  /** The client's name, as given in its options. */
  get name(): string {
    return this.state.options.name;
  }

  /** Fully qualified proto service, e.g. 'demo.Inventory'. */
  get serviceName(): string {
    return this.state.options.serviceName;
  }

  /**
   * One request, one response. On a client typed by a service interface (`MeshClient<S>`, e.g.
   * ts-proto's `nestJs=true` client), the method name, request and response are checked:
   * `client.unary('getItem', { id })` is an `Observable<Item>`; with the controller interface too
   * (`MeshClient<S, C>`), only unary RPCs are accepted.
   */
  unary<Req = ExplicitRequest<S>, Res = unknown>(method: MeshMethodOf<S, C, 'unary'>, request: NoInfer<Req>, options?: CallOptions): Observable<Res>;
  unary<K extends MeshMethodOf<S, C, 'unary'>>(method: K, request: MeshReq<S, K>, options?: CallOptions): Observable<MeshRes<S, K>>;
  unary(method: string, request: unknown, options?: CallOptions): Observable<unknown> {
    return this.start('unary', method, request, options);
  }

  /**
   * A unary call as a Promise, for callers who `await`: the same call as `unary()` (deadline,
   * retry, breaker, plugins, metrics), made without an Observable. Cancel it with
   * `options.signal`. Typed like `unary()`.
   *
   * @example
   * const item = await inventory.request('getItem', { id }, { timeoutMs: 200 });
   */
  request<Req = ExplicitRequest<S>, Res = unknown>(method: MeshMethodOf<S, C, 'unary'>, request: NoInfer<Req>, options?: CallOptions): Promise<Res>;
  request<K extends MeshMethodOf<S, C, 'unary'>>(method: K, request: MeshReq<S, K>, options?: CallOptions): Promise<MeshRes<S, K>>;
  request(method: string, request: unknown, options?: CallOptions): Promise<unknown> {
    const found = this.resolver.resolve('unary', method, 'request()');
    return isMeshClientError(found) ? Promise.reject(found) : this.calls.request(found, request, options);
  }

  /** One request, a stream of responses (typed clients: server-streaming RPCs). */
  serverStream<Req = ExplicitRequest<S>, Res = unknown>(
    method: MeshMethodOf<S, C, 'server-stream'>,
    request: NoInfer<Req>,
    options?: CallOptions,
  ): Observable<Res>;
  serverStream<K extends MeshMethodOf<S, C, 'server-stream'>>(method: K, request: MeshReq<S, K>, options?: CallOptions): Observable<MeshRes<S, K>>;
  serverStream(method: string, request: unknown, options?: CallOptions): Observable<unknown> {
    return this.start('server-stream', method, request, options);
  }

  /** A stream of requests (sent while subscribed), one response (typed clients: client-streaming RPCs). */
  clientStream<Req = ExplicitRequest<S>, Res = unknown>(
    method: MeshMethodOf<S, C, 'client-stream'>,
    requests: ObservableInput<NoInfer<Req>>,
    options?: CallOptions,
  ): Observable<Res>;
  clientStream<K extends MeshMethodOf<S, C, 'client-stream'>>(method: K, requests: MeshReq<S, K>, options?: CallOptions): Observable<MeshRes<S, K>>;
  clientStream(method: string, requests: unknown, options?: CallOptions): Observable<unknown> {
    return this.start('client-stream', method, requests, options);
  }

  /** Requests and responses both streamed (typed clients: bidi RPCs). */
  bidiStream<Req = ExplicitRequest<S>, Res = unknown>(
    method: MeshMethodOf<S, C, 'bidi'>,
    requests: ObservableInput<NoInfer<Req>>,
    options?: CallOptions,
  ): Observable<Res>;
  bidiStream<K extends MeshMethodOf<S, C, 'bidi'>>(method: K, requests: MeshReq<S, K>, options?: CallOptions): Observable<MeshRes<S, K>>;
  bidiStream(method: string, requests: unknown, options?: CallOptions): Observable<unknown> {
    return this.start('bidi', method, requests, options);
  }

  /**
   * A server-streaming or bidi call as an AsyncIterable, flow-controlled: when the loop body falls
   * `highWaterMark` messages behind (default 16), the stream is paused and HTTP/2 flow control
   * holds the server back; Observable consumers (e.g. `concatMap`) would buffer without limit.
   * Leaving the loop cancels the call. Requests of a bidi call: an Observable, array, iterable or
   * AsyncIterable. On a typed client the method is one of its streaming RPCs and the elements are
   * its response type.
   *
   * @example
   * for await (const level of inventory.iterate('watchStock', { id })) await slowWork(level); // StockLevel
   * for await (const level of untyped.iterate<WatchRequest, StockLevel>('WatchStock', { id })) await slowWork(level);
   */
  iterate<Req = ExplicitRequest<S>, Res = unknown>(
    method: MeshMethodOf<S, C, 'server-stream' | 'bidi'>,
    request: ExplicitIterateRequest<NoInfer<Req>>,
    options?: IterateOptions,
  ): AsyncIterable<Res>;
  iterate<K extends MeshMethodOf<S, C, 'server-stream' | 'bidi'>>(
    method: K,
    request: MeshIterateRequest<S, K>,
    options?: IterateOptions,
  ): AsyncIterable<MeshRes<S, K>>;
  iterate<Req = unknown, Res = unknown>(
    method: string,
    request: Req | Observable<Req> | AsyncIterable<Req>,
    options?: IterateOptions,
  ): AsyncIterable<Res> {
    const kind: CallKind = this.resolver.find(method)?.kind === 'bidi' ? 'bidi' : 'server-stream';
    const read = readIterateOptions(options);
    if (typeof read === 'string') {
      const error = this.resolver.refuse(method, read);
      return callIterable(() => throwError(() => error));
    }
    return callIterable<Res>((flow) => this.start(kind, method, request, read.call, 'iterate()', flow), read.highWaterMark);
  }

  /**
   * A typed object with one function per RPC, under every name Nest's `ClientGrpc.getService()`
   * gives it (RPC name and Nest's camelCase) and the lowerCamel RPC name:
   * `getService<Inv>().getItem(req, metadataOrCallOptions?)`.
   */
  getService<T = S>(serviceName?: string): T {
    if (serviceName !== undefined) this.assertService(serviceName, 'getService');
    this.proxy ??= buildServiceProxy(this.methods, (m, req, opts) => this.calls.call(m, req, opts));
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
    const Ctor = makeGenericClientConstructor(this.state.options.serviceDefinition as never, this.serviceName);
    return new Ctor(this.state.options.target, credentials.createInsecure(), { channelOverride: this.state.channels.primary.getChannel() }) as T;
  }

  /** `name` (short or fully qualified) must be this client's service. */
  private assertService(name: string, caller: string): void {
    const full = this.serviceName;
    if (name === full || name === full.slice(full.lastIndexOf('.') + 1)) return;
    throw new MeshConfigError(
      `${caller}('${String(name).slice(0, 100)}'): client '${this.name}' serves ${full}; each mesh client is one service (register one client per service)`,
    );
  }

  /**
   * Changes timeouts, retry, breaker, per-method policies, metadata, target or pool size for calls
   * started from now on; calls in flight finish under the policy (and on the channels) they started
   * with. A partial retry or breaker patch applies over the current policy. An invalid patch throws
   * MeshConfigError and the old policy stays in force. A changed breaker policy starts fresh
   * breakers; a changed budget a full bucket; a new target or pool size new channels. Once the
   * client is closed (or closing), update() throws MeshConfigError and opens nothing.
   */
  update(patch: MeshClientPatch): void {
    if (this.closing) throw new MeshConfigError(`client '${this.name}' is closed (the application is shutting down): update() changes nothing`);
    this.state.update(patch);
  }

  /**
   * grpc.health.v1 Check of `service` ('' = the server) with a real deadline (default 5 s),
   * bypassing retry and breaker. Rejects with a MeshClientError when the server is unreachable.
   */
  checkHealth(service?: string, options?: { timeoutMs?: number }): Promise<HealthStatus> {
    let timeoutMs: unknown;
    try {
      timeoutMs = options?.timeoutMs;
    } catch (error) {
      return this.health.refuse(`checkHealth() options could not be read: ${describeThrown(error)}`);
    }
    return this.health.checkHealth(service, timeoutMs ?? HEALTH_DEFAULTS.checkTimeoutMs);
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
    const xds = this.state.options.xds;
    return xds ? probeControlPlane(xds.serverUri, options?.timeoutMs ?? HEALTH_DEFAULTS.controlPlaneTimeoutMs) : undefined;
  }

  /**
   * State of the circuit breaker guarding `method` (any of its names; an unknown one throws
   * MeshConfigError), or the client's: with scope 'method', the worst of the methods' breakers.
   */
  breakerState(method?: string): 'closed' | 'open' | 'half-open' {
    const found = method === undefined ? undefined : (this.resolver.find(method) ?? this.resolver.unknown('breakerState()', method));
    return this.state.policy.breakers?.state(found?.name) ?? 'closed';
  }

  /**
   * The client's concurrency limit now: the limit, the calls holding a permit and those waiting
   * for one; undefined without a limit (`concurrency` off).
   */
  get concurrency(): { readonly limit: number; readonly active: number; readonly waiting: number } | undefined {
    const limiter = this.state.policy.limiter;
    return limiter && { limit: limiter.limit, active: limiter.active, waiting: limiter.waiting };
  }

  /** Calls in flight right now. */
  get inflight(): number {
    return this.calls.inflightCount;
  }

  /**
   * Graceful shutdown: refuses new calls at once, gives calls in flight up to `drainTimeoutMs` to
   * finish, cancels the rest, then closes every channel. Idempotent.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      const reason = `client '${this.name}' is closed (the application is shutting down); no new calls are accepted`;
      this.health.close(reason);
      await this.calls.shutdown(reason, this.state.options.drainTimeoutMs);
      this.stopWatching();
      this.state.channels.close();
    })();
    return this.closing;
  }

  private start<T>(
    kind: CallKind,
    name: string,
    request: unknown,
    options: CallOptions | undefined,
    via = CALL_OF_KIND[kind],
    flow?: FlowControl,
  ): Observable<T> {
    const method = this.resolver.resolve(kind, name, via);
    return isMeshClientError(method) ? throwError(() => method) : this.calls.call<T>(method, request, options, flow);
  }
}
