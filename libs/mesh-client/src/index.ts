/**
 * @datapunk/mesh-client: the public contract, listed in docs/reference/api.md (generated from these
 * exports and their JSDoc by scripts/docs.mjs). Everything not exported here (or from
 * `@datapunk/mesh-client/advanced`, `@datapunk/mesh-client/testing`) is internal. Each `// Title`
 * comment starts a group of the API reference.
 */
// Module
export { MeshClientModule } from './module/mesh-client.module.js';
export type { MeshModuleExtras } from './module/mesh-client.module-definition.js';
export type {
  ClientsModuleGrpcAsyncEntry,
  ClientsModuleGrpcEntry,
  ClientsModuleGrpcOptions,
  ClientsModuleGrpcOptionsFactory,
  ClientsModuleGrpcProvider,
} from './module/clients-module.interface.js';
export { InjectMeshClient } from './module/inject-mesh-client.decorator.js';
export { getMeshClientToken } from './module/mesh-client.tokens.js';
// Options
export type {
  BreakerPolicy,
  MeshClientOptions,
  MeshClientPatch,
  MeshModuleOptions,
  MeshTlsOptions,
  MeshXdsOptions,
  MetadataSource,
  MethodPolicy,
  OutlierDetectionOptions,
  ProtoSource,
  RetryPolicy,
} from './config/mesh-client-options.interface.js';
// Security context
export type { MeshSecurityContext, MeshTrustedHeader } from './config/security-context.interface.js';
// Plugins
export type {
  MeshAttempt,
  MeshAttemptEnd,
  MeshCall,
  MeshCallHandler,
  MeshClientPlugin,
  MeshMethodInfo,
  MeshPluginRef,
} from './config/mesh-plugin.interface.js';
// Client
export { MeshClient, type IterateOptions } from './client/mesh-client.js';
export type { MeshCallKind, MeshMethodName, MeshMethodOf, MeshRequestOf, MeshResponseOf, MeshRpcName } from './client/typed-client.js';
export { MeshClientRegistry } from './client/mesh-client.registry.js';
export type { CallOptions } from './config/call-options.interface.js';
export type { HealthStatus } from './client/grpc-health/health-status.js';
export type { ControlPlaneState } from './xds/control-plane-probe.js';
// Errors
export { MeshClientError, isMeshClientError } from './errors/mesh-client.error.js';
export { MeshConfigError, isMeshConfigError } from './errors/mesh-config.error.js';
export { MeshAttemptFault, isMeshAttemptFault } from './errors/mesh-attempt-fault.error.js';
export type { MeshErrorCategory } from './errors/error-category.js';
// Security context
export { MeshContext } from './security/mesh-context.service.js';
export { MeshCallOptions, CurrentSecurityContext } from './security/mesh-call-options.decorator.js';
export type { HandlerCallOptions } from './security/call-context.interface.js';
// Health
export { MeshHealthIndicator, type MeshHealthCheckOptions } from './health/mesh-health.indicator.js';
// Plugins
export { TokenPlugin, type TokenPluginOptions } from './plugins/token.plugin.js';
export { LOGGING_LEVELS, LoggingPlugin, type LoggingLevel, type LoggingOutcome, type LoggingPluginOptions } from './plugins/logging.plugin.js';
export { FaultInjectionPlugin, type FaultInjectionOptions, type FaultRule } from './plugins/fault-injection.plugin.js';
