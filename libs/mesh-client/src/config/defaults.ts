import type {
  BreakerPolicy,
  MeshClientOptions,
  MeshModuleOptions,
  MeshTlsOptions,
  MethodPolicy,
  OutlierDetectionOptions,
  RetryPolicy,
} from './mesh-client-options.interface.js';
import type { MeshTrustedHeader } from './security-context.interface.js';

/**
 * Every option group, declared once: its defaults, and (from the same declaration) the keys it
 * accepts. `satisfies { [K in keyof Required<X>]: unknown }` makes each declaration name every
 * field of its interface, so a new option cannot be left out of validation. The interfaces' JSDoc
 * states the same values (test/unit/option-defaults.test.ts); docs/reference/options.md shows them,
 * generated from here by scripts/docs.mjs, which reads the `satisfies` clause to know which
 * interface a declaration is for. A comment on a key is what the reference shows as its default.
 */

/** Largest delay Node's timers accept (about 24.8 days); a longer one would fire at once. */
export const MAX_TIMER_MS = 2_147_483_647;

/** `undefined` as a declared default: the option has none (off, or required: its comment says which). */
const NONE = undefined;

/** Client options (`MeshClientOptions`); nested groups below. */
export const CLIENT_DEFAULTS = Object.freeze({
  /** required */
  name: NONE,
  /** required */
  target: NONE,
  /** required */
  proto: NONE,
  /** none: required unless `insecure: true` */
  tls: NONE,
  insecure: false,
  timeoutMs: 30_000,
  maxMessageBytes: 4 * 1024 * 1024,
  /** on: `RETRY_DEFAULTS` (see RetryPolicy) */
  retry: NONE,
  /** on: `BREAKER_DEFAULTS` (see BreakerPolicy) */
  breaker: NONE,
  methods: NONE,
  /** one channel: `POOL_DEFAULTS` */
  pool: NONE,
  loadBalancing: 'pick_first',
  /** off (`true`: `OUTLIER_DEFAULTS`) */
  outlierDetection: NONE,
  connectTimeoutMs: 5_000,
  drainTimeoutMs: 5_000,
  idleTimeoutMs: 300_000,
  /** off */
  keepalive: NONE,
  compression: 'identity',
  metadata: NONE,
  maxMetadataBytes: 8192,
  tracing: true,
  metrics: true,
  /** the bootstrap from the environment */
  xds: NONE,
  waitForReady: false,
  plugins: NONE,
  /** off: no limit */
  concurrency: NONE,
  channelOptions: NONE,
} as const satisfies { [K in keyof Required<MeshClientOptions>]: unknown });

/** The options `MeshClient.update()` may change, declared once (`MeshClientPatch` and its check derive from it). */
export const PATCH_KEYS = Object.freeze([
  'timeoutMs',
  'retry',
  'breaker',
  'methods',
  'metadata',
  'target',
  'pool',
] as const) satisfies readonly (keyof MeshClientOptions)[];

/** `pool`: channels (HTTP/2 connections) per client. */
export const POOL_DEFAULTS = Object.freeze({ size: 1 } as const satisfies { [K in keyof Required<NonNullable<MeshClientOptions['pool']>>]: unknown });

/**
 * `trustIncoming` of forRoot / forRootAsync: what any caller may set without harm (a trace, a
 * correlation id, a shorter deadline). The end user's token and a caller-supplied tenant cross
 * only when the app opts in. `fromClientsModule` takes none (as ClientGrpc forwards nothing).
 */
export const TRUSTED_INCOMING_DEFAULT: readonly MeshTrustedHeader[] = Object.freeze(['traceparent', 'requestId', 'deadline']);

/** Every part of the context an incoming request may fill, in the order documented. */
export const TRUSTED_INCOMING_ALL: readonly MeshTrustedHeader[] = Object.freeze(['traceparent', 'requestId', 'deadline', 'token', 'tenant']);

/** Module options (`MeshModuleOptions`). */
export const MODULE_DEFAULTS = Object.freeze({
  /** required */
  clients: NONE,
  defaults: NONE,
  /** true when NODE_ENV === 'production' */
  requireMtls: NONE,
  contextExtraKeys: NONE,
  trustIncoming: TRUSTED_INCOMING_DEFAULT,
  plugins: NONE,
  pluginInitTimeoutMs: 10_000,
} as const satisfies { [K in keyof Required<MeshModuleOptions>]: unknown });

/** `retry` (gRFC A6, AIP-194). */
export const RETRY_DEFAULTS = Object.freeze({
  maxAttempts: 3,
  initialBackoffMs: 100,
  maxBackoffMs: 5_000,
  backoffMultiplier: 2,
  jitter: 0.2,
  retryableCodes: Object.freeze(['UNAVAILABLE'] as const),
  budget: Object.freeze({ maxTokens: 10, tokenRatio: 0.1 }),
  perAttemptTimeoutMs: NONE,
} as const satisfies { [K in keyof Required<RetryPolicy>]: unknown });

/** `retry.budget` (gRFC A6 throttling). */
export const BUDGET_KEYS = Object.freeze(Object.keys(RETRY_DEFAULTS.budget) as (keyof typeof RETRY_DEFAULTS.budget)[]);

/** `breaker`. */
export const BREAKER_DEFAULTS = Object.freeze({
  failureRateThreshold: 0.5,
  minimumCalls: 20,
  windowMs: 10_000,
  openMs: 5_000,
  halfOpenMaxCalls: 1,
  scope: 'client',
  consecutiveFailures: NONE,
} as const satisfies { [K in keyof Required<BreakerPolicy>]: unknown });

/** `methods[rpc]`. */
export const METHOD_DEFAULTS = Object.freeze({
  timeoutMs: NONE,
  retry: NONE,
  idempotent: false,
  hedging: NONE,
} as const satisfies { [K in keyof Required<MethodPolicy>]: unknown });

/** `methods[rpc].hedging`. */
export const HEDGING_DEFAULTS = Object.freeze({
  /** required */
  maxAttempts: NONE,
  /** required */
  delayMs: NONE,
  nonFatalCodes: Object.freeze(['UNAVAILABLE'] as const),
} as const satisfies { [K in keyof Required<NonNullable<MethodPolicy['hedging']>>]: unknown });

/** `concurrency`. */
export const CONCURRENCY_DEFAULTS = Object.freeze({
  /** required */
  limit: NONE,
  maxQueue: 1000,
  /** the call's remaining deadline */
  queueTimeoutMs: NONE,
} as const satisfies { [K in keyof Required<NonNullable<MeshClientOptions['concurrency']>>]: unknown });

/** `concurrency.limit: { adaptive }`. */
export const ADAPTIVE_DEFAULTS = Object.freeze({ initial: 20, min: 3, max: 1000 } as const);

/** `outlierDetection` (gRFC A50), for small replica sets (3+ endpoints). */
export const OUTLIER_DEFAULTS = Object.freeze({
  intervalMs: 10_000,
  baseEjectionTimeMs: 30_000,
  maxEjectionTimeMs: 300_000,
  maxEjectionPercent: 50,
  failurePercentage: Object.freeze({ threshold: 50, enforcementPercentage: 100, minimumHosts: 3, requestVolume: 20 }),
} as const satisfies { [K in keyof Required<OutlierDetectionOptions>]: unknown });

/** `keepalive`. */
export const KEEPALIVE_DEFAULTS = Object.freeze({
  /** required */
  timeMs: NONE,
  timeoutMs: 20_000,
} as const satisfies { [K in keyof Required<NonNullable<MeshClientOptions['keepalive']>>]: unknown });

/** `tls`. */
export const TLS_DEFAULTS = Object.freeze({
  /** required */
  ca: NONE,
  /** none: TLS without a client certificate */
  cert: NONE,
  key: NONE,
  /** the target's host */
  serverName: NONE,
  /** none: the host name is checked */
  expectedServerIds: NONE,
  watch: false,
} as const satisfies { [K in keyof Required<MeshTlsOptions>]: unknown });

/** How often `tls.watch` looks at the files. */
export const TLS_WATCH_INTERVAL_MS = 500;

/** Health checks: a Check's deadline, the control-plane probe's timeout. */
export const HEALTH_DEFAULTS = Object.freeze({ checkTimeoutMs: 5_000, controlPlaneTimeoutMs: 1_000 });

/**
 * Bytes a paused response stream (iterate()) still reads before it stops: one HTTP/2 window
 * (65,535 bytes by default). What the server sent before it saw the pause is taken in, so the last
 * messages of a stream that fails meanwhile are not left inside grpc-js, which drops the messages
 * it holds when a stream fails (grpc/grpc-node#2764).
 */
export const READ_AHEAD_BYTES = 64 * 1024;

/** Messages an iterate() consumer may fall behind before the stream is paused (IterateOptions.highWaterMark). */
export const DEFAULT_HIGH_WATER_MARK = 16;

/** Request messages of a client- or bidi-stream kept for replay per call; past this the call is committed (no more retries). */
export const REPLAY_BUFFER_MESSAGES = 256;

/** Reconnection backoff of a health Watch. */
export const WATCH_BACKOFF = Object.freeze({ initialBackoffMs: 100, maxBackoffMs: 5_000, backoffMultiplier: 2, jitter: 0.2 });

/** The keys a declaration accepts. */
export function keysOf<T extends object>(declaration: T): readonly (keyof T & string)[] {
  return Object.freeze(Object.keys(declaration)) as readonly (keyof T & string)[];
}
