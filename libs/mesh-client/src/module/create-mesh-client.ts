import type { ResolvedClientOptions } from '../config/resolved-options.interface.js';
import { endpointOf } from '../config/target.js';
import { CallCore } from '../client/call/call-core.js';
import { createChannels } from '../client/channels/channel.js';
import { ChannelPool } from '../client/channels/channel-pool.js';
import { ClientState } from '../client/client-state.js';
import { GrpcHealthClient } from '../client/grpc-health/grpc-health.client.js';
import { MeshClient } from '../client/mesh-client.js';
import { buildMethodTable } from '../proto/method-table.js';
import type { ClientDeps } from '../client/client-policy.js';
import { CallTelemetry } from '../observability/call-telemetry.js';
import { CallTracer } from '../observability/call-tracer.js';
import { semconvMode } from '../observability/semconv.js';
import { TlsWatcher } from '../security/tls-watcher.js';

/**
 * Wires one MeshClient from validated options: its method table, channels, policy, call
 * core with telemetry (metrics and, unless off, tracing in the semconv mode the environment
 * asks for), gRPC health client and, with `tls.watch`, the TLS file watcher. The one place that
 * builds a client; `MeshClient` is the API over the parts.
 */
export function createMeshClient(options: ResolvedClientOptions, given: Partial<ClientDeps> = {}, env: NodeJS.ProcessEnv = process.env): MeshClient {
  const metrics = options.metrics ? given.metrics : undefined;
  const onBreakerChange = metrics
    ? (change: Parameters<NonNullable<ClientDeps['onBreakerChange']>>[0]) => {
        metrics.circuit(options.name, change.scope, change.to);
        given.onBreakerChange?.(change);
      }
    : given.onBreakerChange;
  const deps: ClientDeps = { ...given, now: given.now ?? Date.now, random: given.random ?? Math.random, onBreakerChange };
  const methods = buildMethodTable(options.name, options.serviceName, options.serviceDefinition, options.maxMessageBytes, options.fieldNaming);
  const channels = new ChannelPool(createChannels(options, options.tlsMaterial));
  const state = new ClientState(options, deps, methods, channels, options.tlsMaterial, createChannels);
  metrics?.retryBudget(options.name, () => state.policy.budget?.canRetry() === false);
  const breakerScopes = options.breaker === false ? [] : options.breaker.scope === 'method' ? [...methods.keys()] : ['*'];
  metrics?.clientStarted(options.name, breakerScopes);
  const tracer = options.tracing ? new CallTracer(semconvMode(env.OTEL_SEMCONV_STABILITY_OPT_IN), endpointOf(options.target)) : undefined;
  if (tracer) channels.onReplace(() => tracer.retarget(endpointOf(state.options.target)));
  const telemetry = metrics || tracer ? new CallTelemetry(metrics, tracer) : undefined;
  const calls = new CallCore(channels, () => state.policy, deps, telemetry);
  const health = new GrpcHealthClient(channels, options.name, options.maxMessageBytes, deps.random);
  let watcher: TlsWatcher | undefined;
  if (options.tls?.watch) {
    watcher = new TlsWatcher(options.tls, {
      onReload: (material) => {
        state.reload(material);
        try {
          deps.logger?.log(`client '${options.name}': TLS credentials reloaded; new calls use them`);
        } catch {
          // the new credentials are in use: a logger that throws changes nothing
        }
      },
      onError: (message) => deps.logger?.warn(`client '${options.name}': ${message}`),
    });
    watcher.start();
  }
  return new MeshClient({ state, methods, calls, health, stopWatching: () => watcher?.stop() });
}
