import type { ServiceDefinition } from '@grpc/grpc-js';
import type { MeshPluginRef } from './mesh-plugin.interface.js';
import type {
  FieldNaming,
  ResolvedBreakerPolicy,
  ResolvedConcurrencyPolicy,
  ResolvedHedgingPolicy,
  ResolvedRetryPolicy,
  TlsMaterial,
  XdsBootstrap,
} from './policies.js';
import type { MeshClientOptions, MeshTlsOptions, MetadataSource, MethodPolicy } from './mesh-client-options.interface.js';
import type { MeshTrustedHeader } from './security-context.interface.js';

/** A method's policy after validation, its retry policy resolved over the client's. */
export interface ResolvedMethodPolicy {
  readonly timeoutMs: number | undefined;
  readonly retry: ResolvedRetryPolicy | false;
  readonly idempotent: boolean;
  /** Hedging instead of retry (unary, idempotent methods). */
  readonly hedging?: ResolvedHedgingPolicy;
}

/** A client's options after defaults were merged and every field was validated. */
export interface ResolvedClientOptions {
  readonly name: string;
  readonly target: string;
  /** Fully qualified service name, e.g. 'demo.Inventory'. */
  readonly serviceName: string;
  readonly serviceDefinition: ServiceDefinition;
  /** How request field names are matched: exactly for protos the client loaded, either spelling for a given definition. */
  readonly fieldNaming: FieldNaming;
  readonly tls: MeshTlsOptions | undefined;
  /** The TLS files, read and checked at start. */
  readonly tlsMaterial: TlsMaterial | undefined;
  readonly insecure: boolean;
  /** The xDS bootstrap of an `xds:///` target (checked at start); undefined for other targets. */
  readonly xds: XdsBootstrap | undefined;
  /** `xds.bootstrap` as given, kept for `update({ target })` to an xds target. */
  readonly xdsBootstrapOption: unknown;
  readonly timeoutMs: number;
  readonly maxMessageBytes: number;
  readonly retry: ResolvedRetryPolicy | false;
  readonly breaker: ResolvedBreakerPolicy | false;
  /** Per-method policies as given (validated), kept to re-resolve them when `retry` changes. */
  readonly methodOptions: Readonly<Record<string, MethodPolicy>>;
  /** Per-method policies, resolved; RPCs without an entry use the client's. */
  readonly methods: ReadonlyMap<string, ResolvedMethodPolicy>;
  readonly loadBalancing: NonNullable<MeshClientOptions['loadBalancing']>;
  /** grpc-js outlier_detection config (snake_case, durations as strings), or undefined when off. */
  readonly outlierDetection: Readonly<Record<string, unknown>> | undefined;
  readonly poolSize: number;
  readonly connectTimeoutMs: number;
  readonly drainTimeoutMs: number;
  readonly idleTimeoutMs: number;
  readonly keepalive: MeshClientOptions['keepalive'];
  readonly compression: NonNullable<MeshClientOptions['compression']>;
  readonly metadata: MetadataSource | undefined;
  readonly maxMetadataBytes: number;
  readonly tracing: boolean;
  readonly metrics: boolean;
  readonly waitForReady: boolean;
  /** This client's own plugins (objects or classes to build). */
  readonly plugins: readonly MeshPluginRef[];
  /** Concurrency limit; undefined: none. */
  readonly concurrency: ResolvedConcurrencyPolicy | undefined;
  /** Further grpc-js channel options, passed as they are. */
  readonly channelOptions: Readonly<Record<string, string | number>> | undefined;
}

/** The module's options after validation. */
export interface ResolvedModuleOptions {
  readonly clients: readonly ResolvedClientOptions[];
  /** Plugins of every client (objects or classes to build), outermost first. */
  readonly plugins: readonly MeshPluginRef[];
  readonly requireMtls: boolean;
  readonly contextExtraKeys: readonly string[];
  readonly pluginInitTimeoutMs: number;
  /** The parts of the context incoming requests fill. */
  readonly trustIncoming: readonly MeshTrustedHeader[];
}
