import type { Provider } from '@nestjs/common';
import { makeCounterProvider, makeGaugeProvider, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { MeshMetricsBuffer } from './metrics-buffer.js';
import { CALL_LABELS, HANDLING_BUCKETS, METRIC } from './metric-names.js';

const SHORT = ['grpc_service', 'grpc_method', 'mesh_client'];
const fromBuffer = [MeshMetricsBuffer];

/**
 * The library's Prometheus series, declared as @willsoto/nestjs-prometheus providers: they are
 * created on the application's registry when the module starts, never at import. Counters are
 * filled from the MeshMetricsBuffer when scraped (`collect`).
 */
export function createMetricProviders(): Provider[] {
  return [
    MeshMetricsBuffer,
    makeCounterProvider({
      name: METRIC.started,
      help: 'RPCs started by mesh clients.',
      labelNames: [...CALL_LABELS],
      inject: fromBuffer,
      collect(this: Counter, b: MeshMetricsBuffer) {
        b.flush(this, 'started');
      },
    } as never),
    makeCounterProvider({
      name: METRIC.handled,
      help: 'RPCs completed by mesh clients, by final status code.',
      labelNames: [...CALL_LABELS, 'grpc_code'],
      inject: fromBuffer,
      collect(this: Counter, b: MeshMetricsBuffer) {
        b.flushByCode(this, 'handled');
      },
    } as never),
    makeCounterProvider({
      name: METRIC.msgSent,
      help: 'Messages sent by mesh clients.',
      labelNames: [...CALL_LABELS],
      inject: fromBuffer,
      collect(this: Counter, b: MeshMetricsBuffer) {
        b.flush(this, 'sent');
      },
    } as never),
    makeCounterProvider({
      name: METRIC.msgReceived,
      help: 'Messages received by mesh clients.',
      labelNames: [...CALL_LABELS],
      inject: fromBuffer,
      collect(this: Counter, b: MeshMetricsBuffer) {
        b.flush(this, 'received');
      },
    } as never),
    makeHistogramProvider({
      name: METRIC.handling,
      help: 'Time from the start of an RPC to its final outcome, retries included.',
      labelNames: [...CALL_LABELS],
      buckets: HANDLING_BUCKETS,
    }),
    makeCounterProvider({
      name: METRIC.retries,
      help: 'Retry attempts made by mesh clients, by the code that caused them.',
      labelNames: [...SHORT, 'grpc_code'],
      inject: fromBuffer,
      collect(this: Counter, b: MeshMetricsBuffer) {
        b.flushByCode(this, 'retried');
      },
    } as never),
    makeGaugeProvider({ name: METRIC.circuitState, help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.', labelNames: ['mesh_client', 'scope'] }),
    makeCounterProvider({
      name: METRIC.circuitRejected,
      help: 'Calls rejected by an open circuit breaker.',
      labelNames: SHORT,
      inject: fromBuffer,
      collect(this: Counter, b: MeshMetricsBuffer) {
        b.flush(this, 'rejected');
      },
    } as never),
    makeGaugeProvider({
      name: METRIC.inflight,
      help: 'Calls in flight per mesh client.',
      labelNames: ['mesh_client'],
      inject: fromBuffer,
      collect(this: Gauge, b: MeshMetricsBuffer) {
        b.flushInflight(this);
      },
    } as never),
  ];
}
