import type { Provider } from '@nestjs/common';
import { getToken } from '@willsoto/nestjs-prometheus';
import type { Counter, Gauge } from 'prom-client';
import { BufferedHistogram } from './buffered-histogram.js';
import { MeshMetrics } from './mesh-metrics.js';
import { MeshMetricsBuffer, buffersOf, flushBudgets, flushInflight } from './metrics-buffer.js';
import { CALL_LABELS, HANDLING_BUCKETS, METRIC } from './metric-names.js';
import { makeOwnCounterProvider, makeOwnGaugeProvider } from './own-metric.js';

const SHORT = ['grpc_service', 'grpc_method', 'mesh_client'];
/** The gauges MeshMetrics sets, gathered under one token. */
const MESH_GAUGES = Symbol.for('@datapunk/mesh-client:gauges');

/** A counter filled from buffered counts, and how a buffer's counts move into it. */
interface BufferedCounter {
  readonly name: string;
  readonly help: string;
  readonly labelNames: string[];
  readonly flush: (counter: Counter, buffer: MeshMetricsBuffer) => void;
}

const COUNTERS: readonly BufferedCounter[] = [
  { name: METRIC.started, help: 'RPCs started by mesh clients.', labelNames: [...CALL_LABELS], flush: (c, b) => b.flush(c, 'started') },
  {
    name: METRIC.handled,
    help: 'RPCs completed by mesh clients, by final status code.',
    labelNames: [...CALL_LABELS, 'grpc_code'],
    flush: (c, b) => b.flushByCode(c, 'handled'),
  },
  { name: METRIC.msgSent, help: 'Messages sent by mesh clients.', labelNames: [...CALL_LABELS], flush: (c, b) => b.flush(c, 'sent') },
  { name: METRIC.msgReceived, help: 'Messages received by mesh clients.', labelNames: [...CALL_LABELS], flush: (c, b) => b.flush(c, 'received') },
  {
    name: METRIC.retries,
    help: 'Retry attempts made by mesh clients, by the code that caused them.',
    labelNames: [...SHORT, 'grpc_code'],
    flush: (c, b) => b.flushByCode(c, 'retried'),
  },
  { name: METRIC.circuitRejected, help: 'Calls rejected by an open circuit breaker.', labelNames: SHORT, flush: (c, b) => b.flush(c, 'rejected') },
  {
    name: METRIC.limited,
    help: 'Calls refused by a concurrency limit (queue_full, queue_timeout), nothing sent.',
    labelNames: ['mesh_client', 'reason'],
    flush: (c, b) => b.flushLimited(c),
  },
  { name: METRIC.hedges, help: 'Hedged copies of calls sent by mesh clients.', labelNames: SHORT, flush: (c, b) => b.flush(c, 'hedged') },
];

/** A counter whose `collect` (run at every scrape) moves in the counts of every attached buffer. */
function bufferedCounter({ name, help, labelNames, flush }: BufferedCounter): Provider {
  return makeOwnCounterProvider({
    name,
    help,
    labelNames,
    collect(this: Counter) {
      for (const buffer of buffersOf(this)) flush(this, buffer);
    },
  });
}

interface HistogramSpec {
  readonly name: string;
  readonly help: string;
  /** The labels of its series (each series brings its own values). */
  readonly labelNames: readonly string[];
  readonly buckets: readonly number[];
}

/** A BufferedHistogram on the default registry, where the library's other series are (own-metric.ts). */
function makeBufferedHistogramProvider({ name, help, labelNames, buckets }: HistogramSpec): Provider {
  return { provide: getToken(name), useFactory: () => BufferedHistogram.named(name, help, labelNames, buckets) };
}

/**
 * The library's Prometheus series, as providers under @willsoto/nestjs-prometheus' tokens: they
 * are created on the default registry when the module starts, never at import. Counters are
 * filled from each application's MeshMetricsBuffer when scraped, the latency histogram too.
 */
export function createMetricProviders(): Provider[] {
  return [
    MeshMetricsBuffer,
    ...COUNTERS.map(bufferedCounter),
    makeBufferedHistogramProvider({
      name: METRIC.handling,
      help: 'Time from the start of an RPC to its final outcome, retries included.',
      labelNames: [...CALL_LABELS],
      buckets: HANDLING_BUCKETS,
    }),
    makeOwnGaugeProvider({
      name: METRIC.circuitState,
      help: 'Circuit breaker state: 0 closed, 1 half-open, 2 open.',
      labelNames: ['mesh_client', 'scope'],
    }),
    makeOwnGaugeProvider({
      name: METRIC.concurrencyLimit,
      help: 'Concurrency limit of a mesh client (fixed, or adaptive now).',
      labelNames: ['mesh_client'],
    }),
    makeOwnGaugeProvider({
      name: METRIC.budgetExhausted,
      help: 'Whether the retry budget of a mesh client stops retries now (gRFC A6 throttling): 1 yes, 0 no.',
      labelNames: ['mesh_client'],
      collect(this: Gauge) {
        flushBudgets(this);
      },
    }),
    makeOwnGaugeProvider({
      name: METRIC.inflight,
      help: 'Calls in flight per mesh client.',
      labelNames: ['mesh_client'],
      collect(this: Gauge) {
        flushInflight(this);
      },
    }),
    {
      provide: MeshMetrics,
      useFactory: (
        buffer: MeshMetricsBuffer,
        handling: BufferedHistogram,
        gauges: { circuitState: Gauge; inflight: Gauge; limit: Gauge; budgetExhausted: Gauge },
        ...counters: Counter[]
      ) =>
        new MeshMetrics(
          buffer,
          handling,
          gauges,
          counters.map((counter, i) => ({ counter, flush: COUNTERS[i]!.flush })),
        ),
      inject: [MeshMetricsBuffer, getToken(METRIC.handling), MESH_GAUGES, ...COUNTERS.map((c) => getToken(c.name))],
    },
    {
      provide: MESH_GAUGES,
      useFactory: (circuitState: Gauge, inflight: Gauge, limit: Gauge, budgetExhausted: Gauge) => ({
        circuitState,
        inflight,
        limit,
        budgetExhausted,
      }),
      inject: [getToken(METRIC.circuitState), getToken(METRIC.inflight), getToken(METRIC.concurrencyLimit), getToken(METRIC.budgetExhausted)],
    },
  ];
}
