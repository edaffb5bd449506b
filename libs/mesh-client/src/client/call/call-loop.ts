import { status as Status } from '@grpc/grpc-js';
import { describeThrown } from '../../errors/describe-thrown.js';
import type { MeshClientError } from '../../errors/mesh-client.error.js';
import { localError, type CallSite } from '../../errors/to-mesh-error.js';
import { withoutStackTrace } from '../../errors/without-stack-trace.js';
import { AttemptLoop, type LoopConfig } from '../../resilience/attempt-loop.js';
import { HedgingLoop } from '../../resilience/hedging-loop.js';
import { AttemptPlugins } from '../plugin-engine/attempt-plugins.js';
import type { CallRun } from './call-run.js';

/** The error of a call the open breaker refused (its stack would only show this library: none is taken). */
export function circuitOpen(site: CallSite, attempts: number): MeshClientError {
  const details = `circuit breaker of client '${site.client}' is open; the call was not sent`;
  return withoutStackTrace(() => localError(site, Status.UNAVAILABLE, details, { category: 'circuit-open', retryable: true, attempts }));
}

/**
 * Starts a run's attempts: hedging for a hedged method, else the retry loop (retry off: one
 * attempt, plus a plugin's replay), each attempt on the wire through the gate, with the method's
 * plugins as the gate's hooks.
 */
export function startLoop<T>(run: CallRun<T>): void {
  const record = run.record;
  const { method, policy, settings, plugins, telemetry, core } = record;
  const site = method.site;
  const hooks =
    plugins && run.call && plugins.attempts.length > 0 ? new AttemptPlugins(plugins, run.call, site, (n) => run.prepareMetadata(n)) : undefined;
  run.hooks = hooks;
  run.spec = {
    channels: core.channels,
    method,
    connectTimeoutMs: settings.waitForReady ? 0 : policy.options.connectTimeoutMs,
    flow: record.flow,
    onHeaders: hooks && plugins!.headerReaders.length > 0 ? (n, headers) => hooks.headers(n, headers) : undefined,
  };
  const limiter = policy.limiter;
  const logger = core.deps.logger;
  const common: LoopConfig<T> = {
    attempt: run.startAttempt,
    breaker: policy.breakers?.for(method.name),
    rejection: (attempts) => circuitOpen(site, attempts),
    deadline: record.deadline,
    hooks,
    onLatency: limiter && ((ms) => limiter.sample(ms)),
    onLateHookError: logger && ((e) => logger.warn(`client '${site.client}': a plugin hook failed after its call ended: ${describeThrown(e)}`)),
    now: core.now,
  };
  if (settings.hedging) {
    const loop = new HedgingLoop<T>(
      {
        ...common,
        budget: policy.budget,
        hedging: settings.hedging,
        onHedge: telemetry && (() => telemetry.hedged()),
        extraPermit:
          limiter &&
          (() => {
            const permit = limiter.tryAcquire();
            return permit && (() => permit.release());
          }),
        lost: () => localError(site, Status.CANCELLED, 'another hedged copy answered first', { local: true }),
      },
      run,
    );
    run.loop = loop;
    return loop.start();
  }
  const retry = settings.retry !== false && settings.retry.maxAttempts > 1 ? settings.retry : undefined;
  const requests = run.requests;
  const loop = new AttemptLoop<T>(
    {
      ...common,
      retry,
      budget: retry ? policy.budget : undefined,
      idempotent: settings.idempotent,
      streamsResponses: method.kind === 'server-stream' || method.kind === 'bidi',
      requestsCommitted: requests && (() => !requests.replayable),
      onCommit: requests && (() => requests.release()),
      onRetry: telemetry && ((event) => telemetry.onRetry(event)),
      random: core.deps.random,
    },
    run,
  );
  run.loop = loop;
  loop.start();
}
