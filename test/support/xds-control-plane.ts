import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { Server, ServerCredentials, loadPackageDefinition, type ServerDuplexStream, type ServiceDefinition } from '@grpc/grpc-js';
import { loadServerProto } from './protos.js';

/**
 * A small xDS control plane for tests: an Aggregated Discovery Service (state of the world) on
 * 127.0.0.1 that serves, per service name, the chain grpc-js-xds follows for `xds:///name`:
 * Listener -> RouteConfiguration -> Cluster (EDS) -> ClusterLoadAssignment. Endpoints can change
 * while tests run. Built on the envoy protos @grpc/grpc-js-xds ships in its deps/ folder.
 */

const TYPE = {
  listener: 'type.googleapis.com/envoy.config.listener.v3.Listener',
  route: 'type.googleapis.com/envoy.config.route.v3.RouteConfiguration',
  cluster: 'type.googleapis.com/envoy.config.cluster.v3.Cluster',
  endpoints: 'type.googleapis.com/envoy.config.endpoint.v3.ClusterLoadAssignment',
} as const;
type TypeUrl = (typeof TYPE)[keyof typeof TYPE];
const TYPES = new Set<string>(Object.values(TYPE));
const HCM = 'type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager';
const ROUTER = 'type.googleapis.com/envoy.extensions.filters.http.router.v3.Router';

function loadAds(): ServiceDefinition {
  const deps = join(dirname(createRequire(import.meta.url).resolve('@grpc/grpc-js-xds/package.json')), 'deps');
  const definition = loadServerProto(
    [
      'envoy/service/discovery/v3/ads.proto',
      'envoy/config/listener/v3/listener.proto',
      'envoy/config/route/v3/route.proto',
      'envoy/config/cluster/v3/cluster.proto',
      'envoy/config/endpoint/v3/endpoint.proto',
      'envoy/extensions/filters/network/http_connection_manager/v3/http_connection_manager.proto',
      'envoy/extensions/filters/http/router/v3/router.proto',
    ],
    ['envoy-api', 'xds', 'googleapis', 'protoc-gen-validate'].map((d) => join(deps, d)),
  );
  const pkg = loadPackageDefinition(definition) as unknown as {
    envoy: { service: { discovery: { v3: { AggregatedDiscoveryService: { service: ServiceDefinition } } } } };
  };
  return pkg.envoy.service.discovery.v3.AggregatedDiscoveryService.service;
}

interface DiscoveryRequest {
  version_info: string;
  resource_names: string[];
  type_url: string;
  response_nonce: string;
  error_detail: { message: string } | null;
}
type Resource = Record<string, unknown>;
type AdsStream = ServerDuplexStream<DiscoveryRequest, unknown>;

/** One client's ADS stream: what it subscribed to and the last nonce sent per type. */
interface StreamState {
  readonly call: AdsStream;
  readonly subscribed: Map<string, Set<string>>;
  readonly lastNonce: Map<string, string>;
}

const sameSet = (a: Set<string>, b: Set<string> | undefined): boolean => b !== undefined && a.size === b.size && [...a].every((x) => b.has(x));

export class XdsControlPlane {
  /** ACKs received (requests carrying the nonce of our last response and no error). */
  acks = 0;
  /** Error messages of NACKs received. */
  readonly nacks: string[] = [];
  /** Requests ignored because they answered an older response (stale nonce). */
  stale = 0;
  private readonly server = new Server();
  private readonly streams = new Set<StreamState>();
  private readonly resources = new Map<string, Map<string, Resource>>([...TYPES].map((t) => [t, new Map()]));
  private readonly versions = new Map<string, number>([...TYPES].map((t) => [t, 0]));
  private nonce = 0;
  port = 0;

  private constructor() {
    this.server.addService(loadAds(), {
      StreamAggregatedResources: (call: AdsStream) => this.accept(call),
      DeltaAggregatedResources: (call: AdsStream) => call.destroy(new Error('delta xDS is not served here')),
    });
  }

  /** Starts on 127.0.0.1 (a port from the OS, or `port` to come back where it was). */
  static async start(port = 0): Promise<XdsControlPlane> {
    const plane = new XdsControlPlane();
    plane.port = await new Promise<number>((resolve, reject) =>
      plane.server.bindAsync(`127.0.0.1:${String(port)}`, ServerCredentials.createInsecure(), (e, p) => (e ? reject(e) : resolve(p))),
    );
    return plane;
  }

  /** A bootstrap pointing grpc-js-xds at this control plane. */
  get bootstrap(): Record<string, unknown> {
    return {
      xds_servers: [{ server_uri: `127.0.0.1:${String(this.port)}`, channel_creds: [{ type: 'insecure' }], server_features: ['xds_v3'] }],
      node: { id: 'mesh-client-test', locality: { region: 'local', zone: 'a' } },
    };
  }

  /** ADS streams open now (one per xDS client in a process). */
  get activeStreams(): number {
    return this.streams.size;
  }

  /**
   * Serves `xds:///<service>`: listener, route and cluster, and its endpoints on 127.0.0.1. With
   * `retries`, the route asks clients to retry UNAVAILABLE that many times (an Envoy retry policy).
   */
  serve(service: string, ports: number[], options: { retries?: number } = {}): void {
    const route = `${service}-route`;
    const cluster = `${service}-cluster`;
    this.set(TYPE.listener, service, {
      name: service,
      api_listener: {
        api_listener: {
          '@type': HCM,
          rds: { route_config_name: route, config_source: { ads: {} } },
          http_filters: [{ name: 'router', typed_config: { '@type': ROUTER } }],
        },
      },
    });
    const retry_policy = options.retries
      ? {
          retry_on: 'unavailable',
          num_retries: { value: options.retries },
          retry_back_off: { base_interval: { nanos: 10_000_000 }, max_interval: { nanos: 10_000_000 } },
        }
      : undefined;
    this.set(TYPE.route, route, {
      name: route,
      virtual_hosts: [{ domains: ['*'], routes: [{ match: { prefix: '' }, route: { cluster, retry_policy } }] }],
    });
    this.set(TYPE.cluster, cluster, {
      name: cluster,
      type: 'EDS',
      eds_cluster_config: { eds_config: { ads: {} }, service_name: `${service}-endpoints` },
      lb_policy: 'ROUND_ROBIN',
    });
    this.setEndpoints(service, ports);
  }

  /** Replaces the endpoints of `service` (pushed to every subscribed client at once). */
  setEndpoints(service: string, ports: number[]): void {
    const name = `${service}-endpoints`;
    const lbEndpoints = ports.map((port) => ({
      health_status: 'HEALTHY',
      endpoint: { address: { socket_address: { address: '127.0.0.1', port_value: port } } },
    }));
    this.set(TYPE.endpoints, name, {
      cluster_name: name,
      endpoints: [{ locality: { region: 'local', zone: 'a' }, load_balancing_weight: { value: 1 }, priority: 0, lb_endpoints: lbEndpoints }],
    });
  }

  /** Stops serving at once: every ADS stream breaks. */
  async stop(): Promise<void> {
    this.server.forceShutdown();
    this.streams.clear();
  }

  private set(type: TypeUrl, name: string, resource: Resource): void {
    this.resources.get(type)!.set(name, { '@type': type, ...resource });
    this.versions.set(type, this.versions.get(type)! + 1);
    for (const stream of this.streams) if (stream.subscribed.get(type)?.has(name)) this.send(stream, type);
  }

  private accept(call: AdsStream): void {
    const stream: StreamState = { call, subscribed: new Map(), lastNonce: new Map() };
    this.streams.add(stream);
    call.on('data', (request: DiscoveryRequest) => this.onRequest(stream, request));
    call.on('error', () => this.streams.delete(stream));
    call.on('end', () => {
      this.streams.delete(stream);
      call.end();
    });
    call.on('cancelled', () => this.streams.delete(stream));
  }

  /** State of the world: a request (re)subscribes; an ACK or NACK of the latest response is noted. */
  private onRequest(stream: StreamState, request: DiscoveryRequest): void {
    const type = request.type_url;
    if (!TYPES.has(type)) return;
    if (request.response_nonce !== '' && request.response_nonce !== stream.lastNonce.get(type)) {
      this.stale++;
      return;
    }
    if (request.response_nonce !== '') {
      if (request.error_detail) this.nacks.push(request.error_detail.message);
      else this.acks++;
    }
    const names = new Set(request.resource_names);
    const changed = !sameSet(names, stream.subscribed.get(type));
    stream.subscribed.set(type, names);
    if (changed || request.response_nonce === '') this.send(stream, type);
  }

  /** Sends every subscribed resource of `type` that exists, at the type's current version. */
  private send(stream: StreamState, type: string): void {
    const store = this.resources.get(type)!;
    const resources = [...(stream.subscribed.get(type) ?? [])].flatMap((name) => store.get(name) ?? []);
    const nonce = String(++this.nonce);
    stream.lastNonce.set(type, nonce);
    stream.call.write({ version_info: String(this.versions.get(type)), nonce, type_url: type, resources });
  }
}
