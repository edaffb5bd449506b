import fc from 'fast-check';
import { Observable, defer, delay as delayed, from, switchMap, timer, type Observable as Obs } from 'rxjs';
import {
  MeshAttemptFault,
  type MeshAttempt,
  type MeshAttemptEnd,
  type MeshCall,
  type MeshCallHandler,
  type MeshClientOptions,
  type MeshClientPlugin,
} from '@datapunk/mesh-client';
import { seeded } from './errors.js';

/** What a plugin of a composition does, now and then (with probability `p` per hook call). */
export type PluginBehaviour =
  | 'throw-before'
  | 'throw-after'
  | 'hang-before'
  | 'hang-after'
  | 'delay-before'
  | 'replay'
  | 'mutate'
  | 'fault'
  | 'intercept-never'
  | 'intercept-delay'
  | 'intercept-throw'
  | 'intercept-map';

/** One random composition of features, the calls made through it and the server's faults. */
export interface Composition {
  seed: number;
  loop: 'retry' | 'hedging' | 'none';
  breaker: boolean;
  limit: 'none' | 'fixed' | 'adaptive';
  queueTimeoutMs: number | undefined;
  plugins: { behaviour: PluginBehaviour; p: number }[];
  metadata: 'none' | 'sync' | 'async' | 'async-hang';
  calls: CallPlan[];
}

/** One call of a composition. */
export interface CallPlan {
  kind: 'unary' | 'server' | 'client' | 'bidi' | 'iterate';
  timeoutMs: number;
  /** Unsubscribe (or leave the loop) after this long; undefined: never. */
  cancelAfterMs: number | undefined;
  /** Server steering: a status, a delay (a stall when past the deadline). */
  status: number | undefined;
  delayMs: number;
  count: number;
}

const behaviours: PluginBehaviour[] = [
  'throw-before',
  'throw-after',
  'hang-before',
  'hang-after',
  'delay-before',
  'replay',
  'mutate',
  'fault',
  'intercept-never',
  'intercept-delay',
  'intercept-throw',
  'intercept-map',
];

const callPlan: fc.Arbitrary<CallPlan> = fc.record({
  kind: fc.constantFrom('unary', 'unary', 'server', 'client', 'bidi', 'iterate'),
  timeoutMs: fc.integer({ min: 40, max: 400 }),
  cancelAfterMs: fc.oneof({ arbitrary: fc.constant(undefined), weight: 5 }, { arbitrary: fc.integer({ min: 0, max: 300 }), weight: 1 }),
  status: fc.oneof({ arbitrary: fc.constant(undefined), weight: 2 }, { arbitrary: fc.constantFrom(14, 14, 13, 5, 8, 16), weight: 1 }),
  delayMs: fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 500 })),
  count: fc.integer({ min: 0, max: 5 }),
});

/** Random compositions, each with its calls. */
export const compositions = (maxCalls: number): fc.Arbitrary<Composition> =>
  fc.record({
    seed: fc.integer({ min: 1, max: 2 ** 30 }),
    loop: fc.constantFrom('retry', 'hedging', 'none'),
    breaker: fc.boolean(),
    limit: fc.constantFrom('none', 'fixed', 'adaptive'),
    queueTimeoutMs: fc.oneof(fc.constant(undefined), fc.integer({ min: 5, max: 200 })),
    plugins: fc.array(fc.record({ behaviour: fc.constantFrom(...behaviours), p: fc.constantFrom(0.1, 0.3, 1) }), { maxLength: 3 }),
    metadata: fc.constantFrom('none', 'sync', 'async', 'async-hang'),
    calls: fc.array(callPlan, { minLength: 1, maxLength: maxCalls }),
  });

/** Counts of the per-attempt hooks of every composition plugin. */
export interface HookCounts {
  before: number;
  after: number;
}

const never = new Promise<never>(() => undefined);

/** A plugin doing `behaviour` with probability `p` (seeded), counting its per-attempt hooks. */
export function compositionPlugin(i: number, behaviour: PluginBehaviour, p: number, seed: number, counts: HookCounts): MeshClientPlugin {
  const random = seeded(seed + i * 7919);
  const now = (): boolean => random() < p;
  const plugin: MeshClientPlugin = {
    name: `composed-${String(i)}-${behaviour}`,
    beforeAttempt(attempt: MeshAttempt): void | Promise<void> {
      counts.before++;
      if (!now()) return undefined;
      switch (behaviour) {
        case 'throw-before':
          throw new Error('before failed on purpose');
        case 'hang-before':
          return never;
        case 'delay-before':
          return new Promise((resolve) => setTimeout(resolve, Math.floor(random() * 60)));
        case 'mutate':
          attempt.metadata.set('x-composed', String(i));
          return undefined;
        case 'fault':
          throw new MeshAttemptFault(14, 'injected');
        default:
          return undefined;
      }
    },
    afterAttempt(_attempt: MeshAttempt, end: MeshAttemptEnd): void | 'replay' | Promise<void | 'replay'> {
      counts.after++;
      if (!now()) return undefined;
      switch (behaviour) {
        case 'throw-after':
          throw new Error('after failed on purpose');
        case 'hang-after':
          return never;
        case 'replay':
          return end.code === 0 ? undefined : 'replay';
        default:
          return undefined;
      }
    },
  };
  if (!behaviour.startsWith('intercept-')) return plugin;
  plugin.intercept = (call: MeshCall, next: MeshCallHandler): Obs<unknown> => {
    if (!now()) return next.handle(call);
    switch (behaviour) {
      case 'intercept-never':
        return new Observable<unknown>(() => undefined);
      case 'intercept-delay':
        return timer(Math.floor(random() * 60)).pipe(switchMap(() => next.handle(call)));
      case 'intercept-throw':
        throw new Error('intercept failed on purpose');
      default:
        return next.handle(call).pipe(delayed(0));
    }
  };
  return plugin;
}

/** The client options of a composition (target and proto given by the caller). */
export function compositionOptions(c: Composition): Partial<MeshClientOptions> {
  const options: Partial<MeshClientOptions> = {
    retry: c.loop === 'none' ? false : { initialBackoffMs: 5, maxBackoffMs: 40, retryableCodes: ['UNAVAILABLE', 'RESOURCE_EXHAUSTED'] },
    breaker: c.breaker ? { minimumCalls: 4, failureRateThreshold: 0.5, windowMs: 1000, openMs: 50 } : false,
    connectTimeoutMs: 200,
    drainTimeoutMs: 50,
  };
  if (c.loop === 'hedging') {
    options.methods = { Unary: { idempotent: true, hedging: { maxAttempts: 3, delayMs: 20, nonFatalCodes: ['UNAVAILABLE'] } } };
  }
  if (c.limit !== 'none') {
    options.concurrency = {
      limit: c.limit === 'fixed' ? 3 : { adaptive: { initial: 4, min: 2, max: 8 } },
      maxQueue: 20,
      queueTimeoutMs: c.queueTimeoutMs,
    };
  }
  if (c.metadata === 'sync') options.metadata = () => ({ 'x-composed-md': 'sync' });
  const random = seeded(c.seed);
  if (c.metadata === 'async')
    options.metadata = () => new Promise((r) => setTimeout(() => r({ 'x-composed-md': 'async' }), Math.floor(random() * 30)));
  if (c.metadata === 'async-hang') options.metadata = () => (random() < 0.3 ? never : Promise.resolve({ 'x-composed-md': 'async' }));
  return options;
}

/** The request stream of a streaming call of a composition: `n` messages, a few ms apart. */
export function requestStream(n: number, prefix: string): Obs<{ message: string }> {
  return defer(() => from(Array.from({ length: n }, (_, k) => ({ message: `${prefix}.${String(k)}` })))).pipe(delayed(1));
}
