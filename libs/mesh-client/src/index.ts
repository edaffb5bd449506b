export { MeshClientModule } from './module/mesh-client.module.js';
export type { MeshModuleExtras } from './module/mesh-client.module-definition.js';
export { InjectMeshClient } from './module/inject-mesh-client.decorator.js';
export { getMeshClientToken, MESH_RESOLVED_OPTIONS } from './module/mesh-client.tokens.js';
export type {
  BreakerPolicy,
  MeshClientOptions,
  MeshClientPatch,
  MeshModuleOptions,
  MeshTlsOptions,
  MeshXdsOptions,
  MetadataSource,
  MethodPolicy,
  ProtoSource,
  RetryPolicy,
} from './module/mesh-client-options.interface.js';
export { CLIENT_DEFAULTS } from './module/resolved-options.interface.js';
export { MeshClient } from './client/mesh-client.js';
export type { ControlPlaneState } from './xds/control-plane-probe.js';
export { MeshClientRegistry } from './client/mesh-client.registry.js';
export type { CallOptions } from './client/call-options.interface.js';
export type {
  MeshAttempt,
  MeshAttemptEnd,
  MeshCall,
  MeshCallHandler,
  MeshClientPlugin,
  MeshMethodInfo,
  MeshPluginRef,
} from './client/plugins/mesh-plugin.interface.js';
export { MeshAttemptFault, isMeshAttemptFault } from './client/plugins/attempt-fault.js';
export { TokenPlugin, type TokenPluginOptions } from './plugins/token.plugin.js';
export { LoggingPlugin, type LoggingPluginOptions } from './plugins/logging.plugin.js';
export { FaultInjectionPlugin, type FaultInjectionOptions, type FaultRule } from './plugins/fault-injection.plugin.js';
export { PROTO_LOADER_OPTIONS, loadProtoFiles } from './client/proto.js';
export { MeshClientError, isMeshClientError } from './errors/mesh-client.error.js';
export { MeshConfigError, isMeshConfigError } from './errors/mesh-config.error.js';
export { STATUS_TABLE, classifyStatus, type MeshErrorCategory, type StatusClass } from './errors/error-category.js';
export type { MeshSecurityContext } from './security/security-context.interface.js';
export { retryCall, retryDecision, type RetryConfig, type RetryDecisionInput, type RetryEvent } from './resilience/retry.operator.js';
export { circuitBreaker } from './resilience/circuit-breaker.operator.js';
export {
  CircuitBreaker,
  SERVER_FAULT_CODES,
  outcomeOf,
  type BreakerOutcome,
  type BreakerState,
  type BreakerStateName,
  type BreakerTransition,
} from './resilience/circuit-breaker.js';
export { ConsecutiveFailuresRule, FailureRateRule, type TripRule } from './resilience/trip-rules.js';
export { RetryBudget, type RetryBudgetPolicy } from './resilience/retry-budget.js';
export { backoffDelay, type BackoffPolicy } from './resilience/backoff.js';
export { readPushback, PUSHBACK_TRAILER, type Pushback } from './resilience/pushback.js';
export { RETRY_DEFAULTS, type ResolvedRetryPolicy } from './resilience/retry-policy.js';
export { BREAKER_DEFAULTS, type ResolvedBreakerPolicy } from './resilience/breaker-set.js';
export { REPLAY_BUFFER_MESSAGES } from './resilience/replayable-requests.js';
export { MeshContext } from './security/mesh-context.service.js';
export { MeshContextInterceptor } from './security/mesh-context.interceptor.js';
export { MeshCallOptions, CurrentSecurityContext, MESH_CALL_OPTIONS } from './security/mesh-call-options.decorator.js';
export type { HandlerCallOptions } from './security/call-context.interface.js';
export { expectServerIdentity } from './security/tls-credentials.js';
export { parseGrpcTimeout } from './security/grpc-timeout.js';
export { MeshHealthIndicator, type MeshHealthCheckOptions } from './health/mesh-health.indicator.js';
export type { HealthStatus } from './health/health-status.js';
export { HEALTH_CHECK_TIMEOUT_MS } from './health/grpc-health.client.js';
export { MeshMetrics } from './observability/mesh-metrics.js';
export { METRIC, HANDLING_BUCKETS, CIRCUIT_STATE_VALUE } from './observability/metric-names.js';
