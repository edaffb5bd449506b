import { status as Status, type Metadata, type StatusObject } from '@grpc/grpc-js';
import { throwError, type Observable } from 'rxjs';
import { classifyStatus } from '../../errors/error-category.js';
import { isMeshClientError } from '../../errors/mesh-client.error.js';
import { localError, type CallSite } from '../../errors/to-mesh-error.js';
import type { AttemptOutcome } from '../../resilience/attempt-loop.js';
import type { AttemptListener } from '../attempts.js';
import type { AttemptExtras } from '../call-engine.js';
import { isMeshAttemptFault } from './attempt-fault.js';
import type { MeshAttempt, MeshAttemptEnd, MeshCall, MeshClientPlugin } from './mesh-plugin.interface.js';
import { pluginError } from './plugin-error.js';

type Verdict = void | 'replay';

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> => typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';

/** Runs `steps` in order, synchronously while they are, waiting on each promise one returns. */
function inOrder<T>(steps: readonly (() => T | PromiseLike<T>)[], start = 0, seen: T[] = []): T[] | Promise<T[]> {
  for (let i = start; i < steps.length; i++) {
    const result = steps[i]!();
    if (isPromiseLike(result)) return Promise.resolve(result).then((value) => inOrder(steps, i + 1, [...seen, value]));
    seen.push(result);
  }
  return seen;
}

/**
 * The per-attempt hooks of the plugins of one call, as the attempt loop's extras: `beforeAttempt`
 * in order (module plugins first), `onHeaders` as headers arrive, `afterAttempt` in reverse order
 * (the first plugin is the last to see an attempt end). A MeshAttemptFault thrown by
 * `beforeAttempt` becomes the attempt's answer; anything else thrown fails the call ('internal').
 */
export class AttemptPlugins {
  private current: MeshAttempt | undefined;
  private startedAt = 0;
  private trailers: Metadata | undefined;
  private fault: { code: number; details: string } | undefined;

  constructor(
    private readonly plugins: readonly MeshClientPlugin[],
    private readonly call: MeshCall,
    private readonly site: CallSite,
    private readonly caller: { listener(): AttemptListener } | undefined,
  ) {}

  /** The loop's extras for this call. */
  extras(onRejected?: () => void): AttemptExtras {
    return {
      before: (n, metadata) => this.before(n, metadata),
      after: this.plugins.some((p) => p.afterAttempt) ? (_n, outcome) => this.after(outcome) : undefined,
      listener: () => this.listener(),
      override: () => this.override(),
      onRejected,
    };
  }

  private before(n: number, metadata: Metadata): void | Promise<void> {
    const attempt: MeshAttempt = { call: this.call, attempt: n, metadata };
    this.current = attempt;
    this.startedAt = performance.now();
    this.trailers = undefined;
    this.fault = undefined;
    let failed: unknown;
    const steps = this.plugins.map((plugin) => () => {
      if (failed !== undefined || this.fault || !plugin.beforeAttempt) return undefined;
      try {
        const pending = plugin.beforeAttempt(attempt);
        return isPromiseLike(pending) ? Promise.resolve(pending).catch((e: unknown) => this.refuse(plugin, e, n)) : undefined;
      } catch (error) {
        failed = this.refuse(plugin, error, n);
        return undefined;
      }
    });
    const done = inOrder(steps);
    const settle = (results: unknown[]): void => {
      const error = failed ?? results.find((r) => r !== undefined);
      if (error !== undefined) throw error;
    };
    if (isPromiseLike(done)) return done.then(settle);
    settle(done);
  }

  /** A fault the hook asked for becomes the attempt's answer; any other throw fails the call. */
  private refuse(plugin: MeshClientPlugin, thrown: unknown, n: number): unknown {
    if (isMeshAttemptFault(thrown)) {
      this.fault ??= { code: thrown.code, details: thrown.details };
      return undefined;
    }
    return pluginError(this.site, plugin, 'beforeAttempt', thrown, n - 1);
  }

  private override(): Observable<never> | undefined {
    const fault = this.fault;
    if (!fault) return undefined;
    const n = this.current?.attempt ?? 1;
    return throwError(() => localError(this.site, fault.code, fault.details, { attempts: n }));
  }

  private listener(): AttemptListener {
    const caller = this.caller?.listener();
    const attempt = this.current!;
    const readers = this.plugins.filter((p) => p.onHeaders);
    return {
      headers: (headers) => {
        caller?.headers?.(headers);
        for (const plugin of readers) {
          try {
            plugin.onHeaders!(attempt, headers);
          } catch (error) {
            return pluginError(this.site, plugin, 'onHeaders', error, attempt.attempt);
          }
        }
        return undefined;
      },
      status: (status: StatusObject) => {
        this.trailers = status.metadata;
        caller?.status?.(status);
      },
    };
  }

  private after(outcome: AttemptOutcome): Verdict | Promise<Verdict> {
    const attempt = this.current!;
    const end = this.endOf(outcome);
    let failed: unknown;
    let replay = false;
    const steps = [...this.plugins].reverse().map((plugin) => () => {
      if (failed !== undefined || !plugin.afterAttempt) return undefined;
      const take = (verdict: unknown): void => void (verdict === 'replay' && (replay = true));
      try {
        const verdict = plugin.afterAttempt(attempt, end);
        if (!isPromiseLike(verdict)) return take(verdict);
        return Promise.resolve(verdict).then(take, (e: unknown) => void (failed ??= pluginError(this.site, plugin, 'afterAttempt', e, attempt.attempt)));
      } catch (error) {
        failed = pluginError(this.site, plugin, 'afterAttempt', error, attempt.attempt);
        return undefined;
      }
    });
    const done = inOrder(steps);
    const settle = (): Verdict => {
      if (failed !== undefined) throw failed;
      return replay ? 'replay' : undefined;
    };
    return isPromiseLike(done) ? done.then(settle) : settle();
  }

  private endOf(outcome: AttemptOutcome): MeshAttemptEnd {
    const durationMs = performance.now() - this.startedAt;
    const error = outcome.error;
    if (error === undefined) return { code: Status.OK, codeName: 'OK', details: '', trailers: this.trailers, committed: true, durationMs };
    const code = isMeshClientError(error) ? error.code : Status.UNKNOWN;
    return {
      code,
      codeName: classifyStatus(code).codeName,
      details: isMeshClientError(error) ? error.details : '',
      trailers: isMeshClientError(error) ? (error.trailers ?? this.trailers) : this.trailers,
      committed: outcome.committed,
      durationMs,
    };
  }
}
