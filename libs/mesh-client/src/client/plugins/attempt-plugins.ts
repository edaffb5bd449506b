import { status as Status, type Metadata, type StatusObject } from '@grpc/grpc-js';
import { throwError, type Observable } from 'rxjs';
import { classifyStatus } from '../../errors/error-category.js';
import { isMeshClientError } from '../../errors/mesh-client.error.js';
import { localError, type CallSite } from '../../errors/to-mesh-error.js';
import type { AttemptOutcome } from '../../resilience/attempt-loop.js';
import type { AttemptListener } from '../attempts.js';
import type { AttemptExtras } from '../call-engine.js';
import { isMeshAttemptFault } from '../../errors/mesh-attempt-fault.error.js';
import type { MeshAttempt, MeshAttemptEnd, MeshCall, MeshClientPlugin } from '../../config/mesh-plugin.interface.js';
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
/** What the hooks know of one attempt (hedged copies run side by side). */
interface AttemptState {
  readonly attempt: MeshAttempt;
  readonly startedAt: number;
  trailers: Metadata | undefined;
  fault: { code: number; details: string } | undefined;
}

export class AttemptPlugins {
  private readonly states = new Map<number, AttemptState>();

  constructor(
    private readonly plugins: readonly MeshClientPlugin[],
    private readonly call: MeshCall,
    private readonly site: CallSite,
    private readonly caller: { listener(n: number): AttemptListener } | undefined,
  ) {}

  /** The loop's extras for this call. */
  extras(): AttemptExtras {
    return {
      before: (n, metadata) => this.before(n, metadata),
      after: this.plugins.some((p) => p.afterAttempt) ? (n, outcome) => this.after(n, outcome) : undefined,
      listener: (n) => this.listener(n),
      override: (n) => this.override(n),
    };
  }

  private before(n: number, metadata: Metadata): void | Promise<void> {
    const state: AttemptState = {
      attempt: { call: this.call, attempt: n, metadata },
      startedAt: performance.now(),
      trailers: undefined,
      fault: undefined,
    };
    this.states.set(n, state);
    let failed: unknown;
    const steps = this.plugins.map((plugin) => () => {
      if (failed !== undefined || state.fault || !plugin.beforeAttempt) return undefined;
      try {
        const pending = plugin.beforeAttempt(state.attempt);
        return isPromiseLike(pending) ? Promise.resolve(pending).catch((e: unknown) => this.refuse(state, plugin, e)) : undefined;
      } catch (error) {
        failed = this.refuse(state, plugin, error);
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
  private refuse(state: AttemptState, plugin: MeshClientPlugin, thrown: unknown): unknown {
    if (isMeshAttemptFault(thrown)) {
      state.fault ??= { code: thrown.code, details: thrown.details };
      return undefined;
    }
    this.states.delete(state.attempt.attempt);
    return pluginError(this.site, plugin, 'beforeAttempt', thrown, state.attempt.attempt - 1);
  }

  private override(n: number): Observable<never> | undefined {
    const fault = this.states.get(n)?.fault;
    if (!fault) return undefined;
    return throwError(() => localError(this.site, fault.code, fault.details, { attempts: n }));
  }

  private listener(n: number): AttemptListener {
    const caller = this.caller?.listener(n);
    const state = this.states.get(n)!;
    const attempt = state.attempt;
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
        state.trailers = status.metadata;
        caller?.status?.(status);
      },
    };
  }

  private after(n: number, outcome: AttemptOutcome): Verdict | Promise<Verdict> {
    const state = this.states.get(n)!;
    this.states.delete(n);
    const attempt = state.attempt;
    const end = this.endOf(state, outcome);
    let failed: unknown;
    let replay = false;
    const steps = [...this.plugins].reverse().map((plugin) => () => {
      if (failed !== undefined || !plugin.afterAttempt) return undefined;
      const take = (verdict: unknown): void => void (verdict === 'replay' && (replay = true));
      try {
        const verdict = plugin.afterAttempt(attempt, end);
        if (!isPromiseLike(verdict)) return take(verdict);
        return Promise.resolve(verdict).then(
          take,
          (e: unknown) => void (failed ??= pluginError(this.site, plugin, 'afterAttempt', e, attempt.attempt)),
        );
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

  private endOf(state: AttemptState, outcome: AttemptOutcome): MeshAttemptEnd {
    const durationMs = performance.now() - state.startedAt;
    const error = outcome.error;
    if (error === undefined) return { code: Status.OK, codeName: 'OK', details: '', trailers: state.trailers, committed: true, durationMs };
    const code = isMeshClientError(error) ? error.code : Status.UNKNOWN;
    return {
      code,
      codeName: classifyStatus(code).codeName,
      details: isMeshClientError(error) ? error.details : '',
      trailers: isMeshClientError(error) ? (error.trailers ?? state.trailers) : state.trailers,
      committed: outcome.committed,
      durationMs,
    };
  }
}
