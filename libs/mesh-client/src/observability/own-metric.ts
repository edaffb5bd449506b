import type { FactoryProvider, Provider } from '@nestjs/common';
import { register } from 'prom-client';
import { MeshConfigError } from '../errors/mesh-config.error.js';

/** Marks a series this library registered (any copy of it in the process: a brand, not instanceof). */
const OWN = Symbol.for('@datapunk/mesh-client.metric');

/**
 * The error when prom-client's default registry already holds a series of the library's name that
 * the library did not register (another gRPC client instrumentation names its series the same):
 * taken as it is, its labels would clash with the library's or its counts never move in.
 */
export function foreignMetricError(name: string): MeshConfigError {
  return new MeshConfigError(
    `Prometheus metric '${name}' is already registered on prom-client's default registry, and not by @datapunk/mesh-client (another gRPC client instrumentation names its series the same): the mesh clients would count into a series they do not own. Remove that metric or give it another name (a prefix) before the module starts`,
  );
}

/**
 * A @willsoto/nestjs-prometheus series provider that takes a same-named series only when this
 * library registered it (another application of the process, another copy of the library), and
 * fails start-up with {@link foreignMetricError} for anyone else's.
 */
export function ownSeries(series: Provider): FactoryProvider {
  const provider = series as FactoryProvider;
  const make = provider.useFactory as (...args: unknown[]) => { name: string };
  return {
    ...provider,
    useFactory: (...args: unknown[]) => {
      const before = new Set<unknown>(register.getMetricsAsArray());
      const metric = make(...args) as { name: string; [OWN]?: true };
      if (metric[OWN] === true) return metric;
      if (before.has(metric)) throw foreignMetricError(metric.name);
      Object.defineProperty(metric, OWN, { value: true });
      return metric;
    },
  };
}
