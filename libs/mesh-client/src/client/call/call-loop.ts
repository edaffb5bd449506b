import { status as Status } from '@grpc/grpc-js';
import { describeThrown } from '../../errors/describe-thrown.js';
import type { MeshClientError } from '../../errors/mesh-client.error.js';
import { localError, type CallSite } from '../../errors/to-mesh-error.js';
import { withoutStackTrace } from '../../errors/without-stack-trace.js';
import { AttemptLoop, retryGate, type RetryLoopSettings } from '../../resilience/attempt-loop.js';
import { HedgingLoop, type HedgingLoopSettings } from '../../resilience/hedging-loop.js';
import { AttemptPlugins } from '../plugin-engine/attempt-plugins.js';
import type { CallSettings } from './call-settings.js';
import type { CallRecord } from './call-record.js';
import type { CallRun } from './call-run.js';
import type { WireSpec } from './wire-attempt.js';

/** The error of a call the open breaker refused (its stack would only show this library: none is taken). */
export function circuitOpen(site: CallSite, attempts: number): MeshClientError {
  const details = `circuit breaker of client '${site.client}' is open; the call was not sent`;
  return withoutStackTrace(() => localError(site, Status.UNAVAILABLE, details, { category: 'circuit-open', retryable: true, attempts }));
}

/** What the calls of one method with the same settings share: the loops' settings and the wire's. */
interface MethodLoop {
  readonly retry: RetryLoopSettings | undefined;
  readonly hedging: HedgingLoopSettings | undefined;
  readonly spec: WireSpec;
  /** A warning about this method's calls, naming the client (undefined: no logger). */
  readonly warn: ((text: string) => void) | undefined;
}

/** By settings object: the default settings of a method are one object per policy, so one entry per method. */
const loops = new WeakMap<CallSettings, MethodLoop>();

/** A warning naming the client (a logger that throws is not let through into a promise nobody holds). */
function warnerOf(logger: { warn(message: string): void } | undefined, client: string): ((text: string) => void) | undefined {
  return (
    logger &&
    ((text: string) => {
      try {
        logger.warn(`client '${client}': ${text}`);
      } catch {
        // nowhere left to report it: the call goes on, or is over, either way
      }
    })
  );
}

function methodLoopOf(record: CallRecord<unknown>): MethodLoop {
  let loop = loops.get(record.settings);
  if (!loop) loops.set(record.settings, (loop = buildMethodLoop(record)));
  return loop;
}

function buildMethodLoop(record: CallRecord<unknown>): MethodLoop {
  const { method, policy, settings, core } = record;
  const site = method.site;
  const limiter = policy.limiter;
  const warn = warnerOf(core.deps.logger, site.client);
  const base = {
    breaker: policy.breakers?.for(method.name),
    rejection: (attempts: number) => circuitOpen(site, attempts),
    onLatency: limiter && ((ms: number) => limiter.sample(ms)),
    onLateHookError: warn && ((e: unknown) => warn(`a plugin hook failed after its call ended: ${describeThrown(e)}`)),
    now: core.now,
  };
  const spec: WireSpec = {
    channels: core.channels,
    method,
    connectTimeoutMs: settings.waitForReady ? 0 : policy.options.connectTimeoutMs,
    flow: undefined,
  };
  if (settings.hedging) {
    const hedging: HedgingLoopSettings = {
      ...base,
      budget: policy.budget,
      hedging: settings.hedging,
      extraPermit:
        limiter &&
        (() => {
          const permit = limiter.tryAcquire();
          return permit && (() => permit.release());
        }),
      lost: () => localError(site, Status.CANCELLED, 'another hedged copy answered first', { local: true }),
    };
    return { retry: undefined, hedging, spec: { ...spec, spreadCopies: true }, warn };
  }
  const retry = settings.retry !== false && settings.retry.maxAttempts > 1 ? settings.retry : undefined;
  const gate = retryGate({
    ...base,
    retry,
    budget: retry ? policy.budget : undefined,
    idempotent: settings.idempotent,
    streamsResponses: method.kind === 'server-stream' || method.kind === 'bidi',
    breakerForStreams: method.kind === 'server-stream' || method.kind === 'bidi',
    random: core.deps.random,
  });
  return { retry: gate, hedging: undefined, spec, warn };
}

/**
 * Starts a run's attempts: hedging for a hedged method, else the retry loop (retry off: one
 * attempt, plus a plugin's replay), each attempt on the wire through the gate, with the method's
 * plugins as the gate's hooks. What every call of the method shares is made once; the run is the
 * call's own part (its deadline, attempts, requests, telemetry).
 */
export function startLoop<T>(run: CallRun<T>): void {
  const record = run.record;
  const { method, plugins } = record;
  const shared = methodLoopOf(record as CallRecord<unknown>);
  const hooks =
    plugins && run.call && plugins.attempts.length > 0
      ? new AttemptPlugins(plugins, run.call, method.site, run, shared.warn, (c) => record.secretsOf(c))
      : undefined;
  run.hooks = hooks;
  run.spec = record.flow ? { ...shared.spec, flow: record.flow } : shared.spec;
  const loop = shared.hedging ? new HedgingLoop<T>(shared.hedging, run, run) : new AttemptLoop<T>(shared.retry!, run, run);
  run.loop = loop;
  loop.start();
}
