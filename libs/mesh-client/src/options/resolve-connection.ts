import { MAX_TIMER_MS, type OptionChecks } from './option-checks.js';
import { CLIENT_DEFAULTS, OUTLIER_DEFAULTS, POOL_DEFAULTS, keysOf } from '../config/defaults.js';
import type { ResolvedClientOptions } from '../config/resolved-options.interface.js';

type Connection = Pick<ResolvedClientOptions, 'outlierDetection' | 'poolSize' | 'connectTimeoutMs' | 'drainTimeoutMs' | 'idleTimeoutMs'>;

/** A duration as grpc-js's outlier_detection config reads it (a string such as '10s' is refused: grpc-js then drops the whole policy). */
const duration = (ms: number): { seconds: number; nanos: number } => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1_000_000 });
const MS = { min: 1, max: MAX_TIMER_MS, integer: true } as const;
const PERCENT = { min: 0, max: 100, integer: true } as const;

function resolveOutlier(check: OptionChecks, raw: unknown, loadBalancing: string): Record<string, unknown> | undefined {
  if (raw === undefined || raw === false) return undefined;
  if (loadBalancing !== 'round_robin') check.fail('outlierDetection', "needs loadBalancing: 'round_robin' (it ejects endpoints among several)", raw);
  const o = raw === true ? {} : check.object('outlierDetection', raw);
  const at = check.at('outlierDetection');
  at.knownKeys(o, keysOf(OUTLIER_DEFAULTS));
  const f = o.failurePercentage === undefined ? {} : at.object('failurePercentage', o.failurePercentage);
  const fat = at.at('failurePercentage');
  fat.knownKeys(f, keysOf(OUTLIER_DEFAULTS.failurePercentage));
  const d = OUTLIER_DEFAULTS;
  return Object.freeze({
    interval: duration(at.number('intervalMs', o.intervalMs, d.intervalMs, MS)),
    base_ejection_time: duration(at.number('baseEjectionTimeMs', o.baseEjectionTimeMs, d.baseEjectionTimeMs, MS)),
    max_ejection_time: duration(at.number('maxEjectionTimeMs', o.maxEjectionTimeMs, d.maxEjectionTimeMs, MS)),
    max_ejection_percent: at.number('maxEjectionPercent', o.maxEjectionPercent, d.maxEjectionPercent, PERCENT),
    failure_percentage_ejection: {
      threshold: fat.number('threshold', f.threshold, d.failurePercentage.threshold, PERCENT),
      enforcement_percentage: fat.number('enforcementPercentage', f.enforcementPercentage, d.failurePercentage.enforcementPercentage, PERCENT),
      minimum_hosts: fat.number('minimumHosts', f.minimumHosts, d.failurePercentage.minimumHosts, { min: 1, max: 10_000, integer: true }),
      request_volume: fat.number('requestVolume', f.requestVolume, d.failurePercentage.requestVolume, { min: 1, max: 1_000_000, integer: true }),
    },
  });
}

/** Validates the pool size. */
export function resolvePoolSize(check: OptionChecks, raw: unknown, fallback: number): number {
  if (raw === undefined) return fallback;
  const pool = check.object('pool', raw);
  check.at('pool').knownKeys(pool, keysOf(POOL_DEFAULTS));
  return check.at('pool').number('size', pool.size, fallback, { min: 1, max: 64, integer: true });
}

/** Validates pool, outlier detection, connect, drain and idle timeouts. */
export function resolveConnection(check: OptionChecks, raw: Record<string, unknown>, loadBalancing: string): Connection {
  return {
    poolSize: resolvePoolSize(check, raw.pool, POOL_DEFAULTS.size),
    outlierDetection: resolveOutlier(check, raw.outlierDetection, loadBalancing),
    connectTimeoutMs: check.number('connectTimeoutMs', raw.connectTimeoutMs, CLIENT_DEFAULTS.connectTimeoutMs, MS),
    drainTimeoutMs: check.number('drainTimeoutMs', raw.drainTimeoutMs, CLIENT_DEFAULTS.drainTimeoutMs, { min: 0, max: MAX_TIMER_MS, integer: true }),
    idleTimeoutMs: check.number('idleTimeoutMs', raw.idleTimeoutMs, CLIENT_DEFAULTS.idleTimeoutMs, { min: 1000, max: MAX_TIMER_MS, integer: true }),
  };
}
