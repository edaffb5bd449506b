import type { Provider } from '@nestjs/common';
import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import { CALL_LABELS, HANDLING_BUCKETS, METRIC } from './metric-names.js';

/**
 * The library's Prometheus series, declared as @willsoto/nestjs-prometheus providers: they are
 * created on the application's registry when the module starts, never at import.
 */
export function createMetricProviders(): Provider[] {
  return [
    makeCounterProvider({ name: METRIC.started, help: 'RPCs started by mesh clients.', labelNames: [...CALL_LABELS] }),
    makeCounterProvider({ name: METRIC.handled, help: 'RPCs completed by mesh clients, by final status code.', labelNames: [...CALL_LABELS, 'grpc_code'] }),
    makeCounterProvider({ name: METRIC.msgSent, help: 'Messages sent by mesh clients.', labelNames: [...CALL_LABELS] }),
    makeCounterProvider({ name: METRIC.msgReceived, help: 'Messages received by mesh clients.', labelNames: [...CALL_LABELS] }),
    makeHistogramProvider({
      name: METRIC.handling,
      help: 'Time from the start of an RPC to its final outcome, retries included.',
      labelNames: [...CALL_LABELS],
      buckets: HANDLING_BUCKETS,
    }),
    makeCounterProvider({ name: METRIC.retries, help: 'Retry attempts made by mesh clients, by the code that caused them.', labelNames: ['grpc_service', 'grpc_method', 'mesh_client', 'grpc_code'] }),
    makeGaugeProvider({ name: METRIC.circuitState, help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.', labelNames: ['mesh_client', 'scope'] }),
    makeCounterProvider({ name: METRIC.circuitRejected, help: 'Calls rejected by an open circuit breaker.', labelNames: ['grpc_service', 'grpc_method', 'mesh_client'] }),
    makeGaugeProvider({ name: METRIC.inflight, help: 'Calls in flight per mesh client.', labelNames: ['mesh_client'] }),
  ];
}
