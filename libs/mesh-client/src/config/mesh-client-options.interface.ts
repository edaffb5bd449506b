import type { PATCH_KEYS } from './defaults.js';
import type { GrpcObject, status } from '@grpc/grpc-js';
import type { Options as ProtoLoaderOptions, PackageDefinition } from '@grpc/proto-loader';
import type { MeshPluginRef } from './mesh-plugin.interface.js';
import type { MeshSecurityContext, MeshTrustedHeader } from './security-context.interface.js';

/** Where the service's proto comes from: `.proto` files, or a definition loaded by the caller. */
export type ProtoSource =
  | {
      /** One or more `.proto` files, relative to the working directory or absolute. */
      path: string | string[];
      /** Proto package of the service, e.g. 'demo.inventory'. */
      package: string;
      /** Service name inside the package, e.g. 'Inventory'. Default: the package's only service. */
      service?: string;
      /** Folders searched for imports. */
      includeDirs?: string[];
      /**
       * `@grpc/proto-loader` options (as Nest's `loader`) over the library's: camelCase field names,
       * 64-bit integers and enums as numbers, defaults filled, no virtual oneof field. E.g.
       * `{ keepCase: true }` for snake_case field names.
       */
      loader?: ProtoLoaderOptions;
    }
  | {
      /**
       * A `@grpc/proto-loader` package definition or the result of `grpc.loadPackageDefinition`.
       * It keeps the field names it was loaded with; requests may use either a field's proto name
       * or its camelCase form.
       */
      definition: GrpcObject | PackageDefinition;
      package: string;
      /** Default: the package's only service. */
      service?: string;
    };

/** Channel security. Files are read once at start (and again on change with `watch`). */
export interface MeshTlsOptions {
  /** CA bundle that signs the server: a file path or PEM. */
  ca: string | Buffer;
  /** Client certificate for mutual TLS: a file path or PEM. */
  cert?: string | Buffer;
  /** Private key of `cert`: a file path or PEM. */
  key?: string | Buffer;
  /** Name checked against the server certificate and sent as SNI; default: the target host. */
  serverName?: string;
  /** SAN URIs (spiffe://…), DNS names or IP addresses of which the server must present one (in that kind of SAN entry); an entry no certificate can hold (host:port, a gRPC target) fails start. */
  expectedServerIds?: string[];
  /** Reload credentials when the files change. Default false. */
  watch?: boolean;
}

/** gRFC A6 retry policy. */
export interface RetryPolicy {
  /** Attempts including the first, 1..5. Default 3. */
  maxAttempts: number;
  /** Wait before the first retry; retry n waits min(initialBackoffMs * backoffMultiplier^(n-1), maxBackoffMs). Default 100. */
  initialBackoffMs: number;
  /** Longest wait between two attempts. Default 5000. */
  maxBackoffMs: number;
  /** Growth of the wait from one retry to the next. Default 2. */
  backoffMultiplier: number;
  /** Fraction of random spread around each wait, default 0.2 (wait * random(0.8, 1.2)). */
  jitter: number;
  /** Codes retried automatically. Default ['UNAVAILABLE']. */
  retryableCodes: (status | keyof typeof status)[];
  /** gRFC A6 retry throttling; default { maxTokens: 10, tokenRatio: 0.1 }; false disables it. */
  budget?: { maxTokens: number; tokenRatio: number } | false;
  /** Deadline of each attempt (the overall deadline still caps the call). Default: none. */
  perAttemptTimeoutMs?: number;
}

/** Circuit breaker policy. */
export interface BreakerPolicy {
  /** Failure rate 0..1 that opens the circuit (0: any failure, once `minimumCalls` are counted). Default 0.5. */
  failureRateThreshold: number;
  /** Calls needed within the window before the rate counts. Default 20. */
  minimumCalls: number;
  /** Sliding window. Default 10000. */
  windowMs: number;
  /** Time open before probing. Default 5000. */
  openMs: number;
  /** Probes allowed while half-open. Default 1. */
  halfOpenMaxCalls: number;
  /** One breaker per client or per method. Default 'client'. */
  scope?: 'client' | 'method';
  /** Second trip rule: open after this many server faults in a row. Default: off. */
  consecutiveFailures?: number;
}

/** Per-method overrides, keyed by RPC name (or Nest's name for it) in `MeshClientOptions.methods`. */
export interface MethodPolicy {
  /** Overall deadline of this method's calls. */
  timeoutMs?: number;
  /** This method's retry policy, over the client's; false disables retries for it. */
  retry?: Partial<RetryPolicy> | false;
  /** Safe to repeat: an attempt that timed out may be retried. Default false. */
  idempotent?: boolean;
  /**
   * Hedging (gRFC A6) instead of retry, for unary methods marked idempotent: a copy of the call
   * every `delayMs` until one answers or `maxAttempts` (2..5) were sent; the first answer wins and
   * the others are cancelled. A code in `nonFatalCodes` (default ['UNAVAILABLE']) sends the next
   * copy at once; any other ends the call. The retry budget throttles copies; pushback delays or
   * stops them.
   */
  hedging?: { maxAttempts: number; delayMs: number; nonFatalCodes?: (status | keyof typeof status)[] };
}

/**
 * grpc-js outlier detection (gRFC A50) over the endpoints of a round_robin client: an endpoint
 * whose share of failed calls in an interval passes `failurePercentage.threshold` is ejected for
 * a while (longer each time). Defaults suit small replica sets (3+ endpoints).
 */
export interface OutlierDetectionOptions {
  /** How often endpoints are evaluated. Default 10000. */
  intervalMs?: number;
  /** First ejection time; multiplied by the number of ejections. Default 30000. */
  baseEjectionTimeMs?: number;
  /** Longest ejection. Default 300000. */
  maxEjectionTimeMs?: number;
  /** At most this share of endpoints is ejected at once. Default 50. */
  maxEjectionPercent?: number;
  failurePercentage?: {
    /** Failure percentage that ejects an endpoint. Default 50. */
    threshold?: number;
    /** Chance (percent) that an endpoint over the threshold is really ejected. Default 100. */
    enforcementPercentage?: number;
    /** Evaluate only with at least this many endpoints having enough calls. Default 3. */
    minimumHosts?: number;
    /** Calls an endpoint needs in an interval to be evaluated. Default 20. */
    requestVolume?: number;
  };
}

/** Static metadata, or a function of the caller's security context that builds it. */
export type MetadataSource =
  Record<string, string> | ((ctx: MeshSecurityContext | undefined) => Record<string, string> | Promise<Record<string, string>>);

/** One remote service. */
export interface MeshClientOptions {
  /** Injection name, unique within the module: `@InjectMeshClient(name)`. */
  name: string;
  /** 'host:port' | 'dns:///host:port' | 'ipv4:a:p,b:p' | 'ipv6:[a]:p' | 'unix:path' | 'xds:///name'. */
  target: string;
  /** Where the service's proto comes from: `.proto` files (`{ path, package }`) or a loaded definition. */
  proto: ProtoSource;
  /** TLS (and mutual TLS with `cert` + `key`). Required unless `insecure: true`. */
  tls?: MeshTlsOptions;
  /** Plaintext. Refused when mTLS is required. Default false. */
  insecure?: boolean;
  /** Overall deadline per call, retries included. Default 30000. */
  timeoutMs?: number;
  /** Send and receive limit per message. Default 4194304 (4 MiB). */
  maxMessageBytes?: number;
  /** gRFC A6 retries; default on (3 attempts, UNAVAILABLE only, budget 10/0.1); false disables. */
  retry?: Partial<RetryPolicy> | false;
  /** Circuit breaker; default on (50% over 10 s, minimum 20 calls, open 5 s); false disables. */
  breaker?: Partial<BreakerPolicy> | false;
  /** Per-method overrides, keyed by RPC name. */
  methods?: Record<string, MethodPolicy>;
  /** Channels (distinct HTTP/2 connections) per target, used in turn. 1..64, default { size: 1 }. */
  pool?: { size: number };
  /** Default 'pick_first'. 'round_robin' spreads calls over every address the target resolves to. */
  loadBalancing?: 'pick_first' | 'round_robin';
  /** Eject failing endpoints (round_robin only); true for the defaults. Default off. */
  outlierDetection?: OutlierDetectionOptions | boolean;
  /**
   * An attempt that finds no connection fails with UNAVAILABLE (retryable) after this long instead
   * of waiting in grpc-js's queue until its deadline. Default 5000.
   */
  connectTimeoutMs?: number;
  /** On shutdown, calls in flight get this long to finish before they are cancelled. Default 5000. */
  drainTimeoutMs?: number;
  /**
   * A channel without calls for this long lets its connection go (grpc-js closes it at its next
   * 10 s check); the next call reconnects. At least 1000, default 300000.
   */
  idleTimeoutMs?: number;
  /**
   * HTTP/2 keepalive pings every `timeMs`; a ping unanswered for `timeoutMs` (default 20000)
   * closes the connection. Off by default: servers (C-core's default policy) close connections
   * that ping more often than every 5 minutes without calls.
   */
  keepalive?: { timeMs: number; timeoutMs?: number };
  /** Compression of outgoing messages. Default 'identity'. */
  compression?: 'identity' | 'gzip' | 'deflate';
  /** Metadata added to every call of this client. */
  metadata?: MetadataSource;
  /** Limit of one call's metadata (keys + values), checked before sending. Default 8192. */
  maxMetadataBytes?: number;
  /** A CLIENT span per call through `@opentelemetry/api`. Default true. */
  tracing?: boolean;
  /** This client's Prometheus series. Default true. */
  metrics?: boolean;
  /** Options of `xds:///` targets (needs the optional peer `@grpc/grpc-js-xds`). */
  xds?: MeshXdsOptions;
  /**
   * Calls wait for a connection (up to their deadline) instead of failing fast while the target
   * is unreachable: gRPC's wait-for-ready. `CallOptions.waitForReady` overrides it. Default false.
   */
  waitForReady?: boolean;
  /** This client's plugins, inside the module's (listed first = outermost). */
  plugins?: MeshPluginRef[];
  /**
   * At most `limit` calls in flight; the next ones wait (FIFO) in a queue of `maxQueue` (default
   * 1000) for at most `queueTimeoutMs` (default: the call's remaining deadline), beyond which they
   * fail at once with 'resource-exhausted', nothing sent. `'adaptive'` (or `{ adaptive: { initial,
   * min, max } }`, defaults 20, 3, 1000) follows latency (Envoy's gradient controller). Default off.
   */
  concurrency?: {
    limit: number | 'adaptive' | { adaptive: { initial?: number; min?: number; max?: number } };
    maxQueue?: number;
    queueTimeoutMs?: number;
  };
  /**
   * Further grpc-js channel options (`grpc.*`, `grpc-node.*`), passed as they are, e.g. a
   * `grpc.service_config`. Those the client sets itself are refused, naming the option to use.
   */
  channelOptions?: Record<string, string | number>;
}

/**
 * How an `xds:///name` client finds its control plane. Without `bootstrap`, the standard
 * environment is used: `GRPC_XDS_BOOTSTRAP` (a file) or `GRPC_XDS_BOOTSTRAP_CONFIG` (JSON).
 * The bootstrap is process-wide in `@grpc/grpc-js-xds`: every client must use the same one.
 */
export interface MeshXdsOptions {
  /** The bootstrap: an object, its JSON text, or the path of a bootstrap file. */
  bootstrap?: Record<string, unknown> | string;
}

/** Options of `MeshClientModule.forRoot`. */
export interface MeshModuleOptions {
  /** One entry per remote service. */
  clients: MeshClientOptions[];
  /** Policy shared by every client; a client's own fields win. */
  defaults?: Partial<MeshClientOptions>;
  /** Refuse insecure clients. Default: true when NODE_ENV === 'production'. */
  requireMtls?: boolean;
  /**
   * Keys of `MeshSecurityContext.extra` (also read from incoming headers) that may travel on
   * outgoing calls. Default none: only token, request id, tenant and traceparent travel.
   */
  contextExtraKeys?: string[];
  /**
   * Which parts of incoming requests (HTTP headers, gRPC metadata) fill the security context that
   * outgoing calls carry. Default `['traceparent', 'requestId', 'deadline']` (`fromClientsModule`:
   * `[]`, nothing, as ClientGrpc). Add `'token'` (`authorization: Bearer`) and `'tenant'`
   * (`x-tenant-id`) only where every caller is trusted to set them (behind a gateway that checks
   * them); at an internet-facing gateway, verify them in a guard and `MeshContext.set()` them.
   */
  trustIncoming?: MeshTrustedHeader[];
  /** Plugins of every client, outside each client's own (listed first = outermost). */
  plugins?: MeshPluginRef[];
  /** Longest a plugin's `onModuleInit` may take before start-up fails naming it (and its `onModuleDestroy` before shutdown goes on without it; and Nest's building of a plugin class). Default 10000. */
  pluginInitTimeoutMs?: number;
}

/** The fields `MeshClient.update()` may change at run time. */
export type MeshClientPatch = Partial<Pick<MeshClientOptions, (typeof PATCH_KEYS)[number]>>;
