import type { FactoryProvider } from '@nestjs/common';
import { getToken } from '@willsoto/nestjs-prometheus';
import { Counter, Gauge, register, type CounterConfiguration, type GaugeConfiguration } from 'prom-client';
import { MeshConfigError } from '../errors/mesh-config.error.js';

/**
 * Marks a series this library registered (any copy of it in the process: a brand, not instanceof),
 * with the layout of what its `collect` hook reads (the buffers on the metric, metrics-buffer.ts):
 * copies of one layout share a series; a copy of another layout could not.
 */
const OWN = Symbol.for('@datapunk/mesh-client.metric');
const LAYOUT = 2;

/**
 * The error when prom-client's default registry already holds a series of the library's name that
 * this library's copy cannot count into: another gRPC client instrumentation's (it names its series
 * the same), or a copy of this library of another version (`ours`: its counts would never be moved in).
 */
export function foreignMetricError(name: string, ours: boolean): MeshConfigError {
  const by = ours
    ? 'by a copy of @datapunk/mesh-client of another version (the two cannot share a series): load one version of the library per process'
    : 'and not by @datapunk/mesh-client (another gRPC client instrumentation names its series the same): the mesh clients would count into a series they do not own. Remove that metric or give it another name (a prefix) before the module starts';
  return new MeshConfigError(`Prometheus metric '${name}' is already registered on prom-client's default registry, ${by}`);
}

/**
 * The provider of the library's series `name`, under @willsoto/nestjs-prometheus' token for it:
 * the series this library registered in the process (another application's, another copy's), or a
 * new one `make` registers; one registered by anyone else fails start-up ({@link foreignMetricError}).
 * Made here rather than by @willsoto's providers, which would take a same-named series as it is and
 * rename the library's with PrometheusModule's `customMetricPrefix`.
 */
export function seriesProvider(name: string, help: string, make: () => object): FactoryProvider {
  return {
    provide: getToken(name),
    useFactory: () => {
      const existing = register.getSingleMetric(name) as unknown as { help?: string; [OWN]?: unknown } | undefined;
      if (existing?.[OWN] === LAYOUT) return existing;
      if (existing) throw foreignMetricError(name, existing[OWN] !== undefined || existing.help === help);
      const metric = make();
      Object.defineProperty(metric, OWN, { value: LAYOUT });
      return metric;
    },
  };
}

/** A counter of the library's, as {@link seriesProvider} makes it. */
export function makeOwnCounterProvider(options: CounterConfiguration<string>): FactoryProvider {
  return seriesProvider(options.name, options.help, () => new Counter(options));
}

/** A gauge of the library's, as {@link seriesProvider} makes it. */
export function makeOwnGaugeProvider(options: GaugeConfiguration<string>): FactoryProvider {
  return seriesProvider(options.name, options.help, () => new Gauge(options));
}
