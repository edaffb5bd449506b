import type { ServiceDefinition } from '@grpc/grpc-js';
import type { MeshClientOptions, MeshTlsOptions, MetadataSource, MethodPolicy } from './mesh-client-options.interface.js';

/** A client's options after defaults were merged and every field was validated. */
export interface ResolvedClientOptions {
  readonly name: string;
  readonly target: string;
  /** Fully qualified service name, e.g. 'demo.Inventory'. */
  readonly serviceName: string;
  readonly serviceDefinition: ServiceDefinition;
  readonly tls: MeshTlsOptions | undefined;
  readonly insecure: boolean;
  readonly timeoutMs: number;
  readonly maxMessageBytes: number;
  readonly methods: Readonly<Record<string, MethodPolicy>>;
  readonly loadBalancing: NonNullable<MeshClientOptions['loadBalancing']>;
  readonly keepalive: MeshClientOptions['keepalive'];
  readonly compression: NonNullable<MeshClientOptions['compression']>;
  readonly metadata: MetadataSource | undefined;
  readonly tracing: boolean;
  readonly metrics: boolean;
}

/** The module's options after validation. */
export interface ResolvedModuleOptions {
  readonly clients: readonly ResolvedClientOptions[];
  readonly requireMtls: boolean;
}

/** Documented defaults of every optional client field. */
export const CLIENT_DEFAULTS = Object.freeze({
  timeoutMs: 30_000,
  maxMessageBytes: 4 * 1024 * 1024,
  loadBalancing: 'pick_first',
  compression: 'identity',
  insecure: false,
  tracing: true,
  metrics: true,
} as const);
