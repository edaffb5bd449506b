import type { Provider } from '@nestjs/common';
import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { MeshMetricsBuffer } from './metrics-buffer.js';
import { CALL_LABELS, HANDLING_BUCKETS, METRIC } from './metric-names.js';

const SHORT = ['grpc_service', 'grpc_method', 'mesh_client'];

/** A counter filled from the MeshMetricsBuffer by `flush` whenever the registry is scraped. */
function bufferedCounter(name: string, help: string, labelNames: string[], flush: (counter: Counter, buffer: MeshMetricsBuffer) => void): Provider {
  return makeCounterProvider({
    name,
    help,
    labelNames,
    inject: [MeshMetricsBuffer],
    collect(this: Counter, buffer: MeshMetricsBuffer) {
      flush(this, buffer);
    },
  } as never);
}

/**
 * The library's Prometheus series, declared as @willsoto/nestjs-prometheus providers: they are
 * created on the application's registry when the module starts, never at import. Counters are
 * filled from the MeshMetricsBuffer when scraped (`collect`); the histogram is observed directly.
 */
export function createMetricProviders(): Provider[] {
  return [
    MeshMetricsBuffer,
    bufferedCounter(METRIC.started, 'RPCs started by mesh clients.', [...CALL_LABELS], (c, b) => b.flush(c, 'started')),
    bufferedCounter(METRIC.handled, 'RPCs completed by mesh clients, by final status code.', [...CALL_LABELS, 'grpc_code'], (c, b) => b.flushByCode(c, 'handled')),
    bufferedCounter(METRIC.msgSent, 'Messages sent by mesh clients.', [...CALL_LABELS], (c, b) => b.flush(c, 'sent')),
    bufferedCounter(METRIC.msgReceived, 'Messages received by mesh clients.', [...CALL_LABELS], (c, b) => b.flush(c, 'received')),
    bufferedCounter(METRIC.retries, 'Retry attempts made by mesh clients, by the code that caused them.', [...SHORT, 'grpc_code'], (c, b) => b.flushByCode(c, 'retried')),
    bufferedCounter(METRIC.circuitRejected, 'Calls rejected by an open circuit breaker.', SHORT, (c, b) => b.flush(c, 'rejected')),
    makeHistogramProvider({
      name: METRIC.handling,
      help: 'Time from the start of an RPC to its final outcome, retries included.',
      labelNames: [...CALL_LABELS],
      buckets: HANDLING_BUCKETS,
    }),
    makeGaugeProvider({ name: METRIC.circuitState, help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.', labelNames: ['mesh_client', 'scope'] }),
    makeGaugeProvider({
      name: METRIC.inflight,
      help: 'Calls in flight per mesh client.',
      labelNames: ['mesh_client'],
      inject: [MeshMetricsBuffer],
      collect(this: Gauge, buffer: MeshMetricsBuffer) {
        buffer.flushInflight(this);
      },
    } as never),
  ];
}
