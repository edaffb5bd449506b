import { status } from '@grpc/grpc-js';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import { MeshAttemptFault } from '../errors/mesh-attempt-fault.error.js';
import type { MeshAttempt, MeshClientPlugin, MeshMethodInfo } from '../config/mesh-plugin.interface.js';

/** Faults of one method (or of all). Percentages 0..100 of attempts. */
export interface FaultRule {
  /** Wait this long before sending, in `delayPercent` of attempts. */
  delayMs?: number;
  /** Share of attempts (0..100) delayed by `delayMs`. Default 100 when `delayMs` is given. */
  delayPercent?: number;
  /** Answer with this status instead of sending, in `abortPercent` of attempts. Default UNAVAILABLE. */
  abortCode?: status | keyof typeof status;
  /** Share of attempts (0..100) answered with `abortCode`. Default 0. */
  abortPercent?: number;
}

/** What a FaultInjectionPlugin injects. */
export interface FaultInjectionOptions {
  /** Rules by RPC name. */
  methods?: Record<string, FaultRule>;
  /** The rule of methods without one of their own. */
  all?: FaultRule;
  /** Seed of the fault schedule: the same seed and call order give the same faults. Default: random. */
  seed?: number;
  /** Allow the plugin when NODE_ENV=production (refused at start otherwise). Default false. */
  allowInProduction?: boolean;
  /** Plugin name. Default 'fault-injection'. */
  name?: string;
}

/** mulberry32: a small seeded generator of [0, 1). */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function codeOf(code: FaultRule['abortCode']): status {
  if (code === undefined) return status.UNAVAILABLE;
  const n = typeof code === 'number' ? code : (status as unknown as Record<string, number>)[code];
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 16)
    throw new TypeError(`FaultInjectionPlugin: abortCode must be a gRPC status (1..16 or its name), got ${String(code)}`);
  return n;
}

/**
 * Delays and/or aborts a share of attempts per method, from a seeded schedule, for resilience
 * tests and game days. An injected abort is the attempt's answer as if the server had sent it: it
 * goes through the real retry policy, retry budget and breaker. Refused at start when
 * NODE_ENV=production unless `allowInProduction`.
 *
 * @example
 * new FaultInjectionPlugin({ methods: { GetItem: { abortPercent: 30, abortCode: 'UNAVAILABLE' } }, seed: 42 })
 */
export class FaultInjectionPlugin implements MeshClientPlugin {
  /** `options.name`, or the plugin's default name. */
  readonly name: string;
  private readonly random: () => number;
  private readonly rules = new Map<string, { delayMs: number; delay: number; abort: number; code: status }>();
  private readonly fallback: { delayMs: number; delay: number; abort: number; code: status } | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();

  /** See `FaultInjectionOptions` (docs/reference/options.md). */
  constructor(private readonly options: FaultInjectionOptions) {
    this.name = options.name ?? 'fault-injection';
    this.random = seeded(options.seed ?? Math.floor(Math.random() * 2 ** 32));
    const compile = (r: FaultRule) => ({
      delayMs: r.delayMs ?? 0,
      delay: (r.delayPercent ?? (r.delayMs ? 100 : 0)) / 100,
      abort: (r.abortPercent ?? 0) / 100,
      code: codeOf(r.abortCode),
    });
    for (const [method, rule] of Object.entries(options.methods ?? {})) this.rules.set(method, compile(rule));
    this.fallback = options.all ? compile(options.all) : undefined;
  }

  onModuleInit(): void {
    if (process.env.NODE_ENV === 'production' && !this.options.allowInProduction) {
      throw new MeshConfigError(
        `plugin '${this.name}' (FaultInjectionPlugin) is refused when NODE_ENV=production; set allowInProduction: true to run it there on purpose`,
      );
    }
  }

  appliesTo(method: MeshMethodInfo): boolean {
    return this.rules.has(method.method) || this.fallback !== undefined;
  }

  beforeAttempt(attempt: MeshAttempt): void | Promise<void> {
    const rule = this.rules.get(attempt.call.method.method) ?? this.fallback;
    if (!rule) return undefined;
    const abort = rule.abort > 0 && this.random() < rule.abort;
    const delay = rule.delay > 0 && this.random() < rule.delay ? rule.delayMs : 0;
    const fault = abort ? new MeshAttemptFault(rule.code, `fault injected by plugin '${this.name}'`) : undefined;
    if (delay === 0) {
      if (fault) throw fault;
      return undefined;
    }
    // the delay ends at the call's deadline at the latest: the call is over by then anyway
    const ms = Math.max(0, Math.min(delay, attempt.call.deadline.getTime() - Date.now()));
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (fault) reject(fault);
        else resolve();
      }, ms);
      this.timers.add(timer);
    });
  }

  onModuleDestroy(): void {
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
  }
}
