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
import type { MethodPlugins } from './plugin-set.js';
import { pluginError } from './plugin-error.js';

type Verdict = void | 'replay';

const isPromiseLike = (value: unknown): value is PromiseLike<unknown> => typeof (value as PromiseLike<unknown> | undefined)?.then === 'function';

/**
 * Runs `step` for each of `items` from `start` in order, synchronously while each returns
 * synchronously; on a promise, waits for it and goes on from the next one. Returns a promise
 * only when some step returned one (the hot path allocates nothing).
 */
function eachInOrder<T>(items: readonly T[], step: (item: T) => unknown, start = 0): void | Promise<void> {
  for (let i = start; i < items.length; i++) {
    const result = step(items[i]!);
    if (isPromiseLike(result)) return Promise.resolve(result).then(() => eachInOrder(items, step, i + 1));
  }
}

/** What the hooks know of one attempt (hedged copies run side by side). */
interface AttemptState {
  readonly attempt: MeshAttempt;
  readonly startedAt: number;
  trailers: Metadata | undefined;
  fault: { code: number; details: string } | undefined;
}

/**
 * The per-attempt hooks of the plugins of one call, as the attempt loop's extras: `beforeAttempt`
 * in order (module plugins first), `onHeaders` as headers arrive, `afterAttempt` in reverse order
 * (the first plugin is the last to see an attempt end). A MeshAttemptFault thrown by
 * `beforeAttempt` becomes the attempt's answer; anything else thrown fails the call ('internal').
 */
export class AttemptPlugins implements AttemptExtras {
  /** By attempt number (an array: a per-call Map allocates again as it shrinks). */
  private readonly states: (AttemptState | undefined)[] = [];
  readonly after: AttemptExtras['after'];

  constructor(
    private readonly plugins: MethodPlugins,
    private readonly call: MeshCall,
    private readonly site: CallSite,
    private readonly caller: { listener(n: number): AttemptListener } | undefined,
  ) {
    this.after = plugins.afters.length > 0 ? (n, outcome) => this.afterAttempt(n, outcome) : undefined;
  }

  before(n: number, metadata: Metadata): void | Promise<void> {
    const state: AttemptState = {
      attempt: { call: this.call, attempt: n, metadata },
      startedAt: performance.now(),
      trailers: undefined,
      fault: undefined,
    };
    this.states[n] = state;
    let failed: unknown;
    const done = eachInOrder(this.plugins.befores, (plugin) => {
      if (failed !== undefined || state.fault) return undefined;
      try {
        const pending = plugin.beforeAttempt!(state.attempt);
        if (isPromiseLike(pending)) return Promise.resolve(pending).then(undefined, (e: unknown) => void (failed ??= this.refuse(state, plugin, e)));
      } catch (error) {
        failed = this.refuse(state, plugin, error);
      }
      return undefined;
    });
    const settle = (): void => {
      if (failed !== undefined) throw failed;
    };
    if (done) return done.then(settle);
    settle();
  }

  /** A fault the hook asked for becomes the attempt's answer; any other throw fails the call. */
  private refuse(state: AttemptState, plugin: MeshClientPlugin, thrown: unknown): unknown {
    if (isMeshAttemptFault(thrown)) {
      state.fault ??= { code: thrown.code, details: thrown.details };
      return undefined;
    }
    this.states[state.attempt.attempt] = undefined;
    return pluginError(this.site, plugin, 'beforeAttempt', thrown, state.attempt.attempt - 1);
  }

  override(n: number): Observable<never> | undefined {
    const fault = this.states[n]?.fault;
    if (!fault) return undefined;
    return throwError(() => localError(this.site, fault.code, fault.details, { attempts: n }));
  }

  listener(n: number): AttemptListener {
    const caller = this.caller?.listener(n);
    const state = this.states[n]!;
    const attempt = state.attempt;
    const readers = this.plugins.headerReaders;
    return {
      headers:
        readers.length > 0 || caller?.headers
          ? (headers) => {
              caller?.headers?.(headers);
              for (const plugin of readers) {
                try {
                  plugin.onHeaders!(attempt, headers);
                } catch (error) {
                  return pluginError(this.site, plugin, 'onHeaders', error, attempt.attempt);
                }
              }
              return undefined;
            }
          : undefined,
      status: (status: StatusObject) => {
        state.trailers = status.metadata;
        caller?.status?.(status);
      },
    };
  }

  private afterAttempt(n: number, outcome: AttemptOutcome): Verdict | Promise<Verdict> {
    const state = this.states[n]!;
    this.states[n] = undefined;
    const attempt = state.attempt;
    const end = this.endOf(state, outcome);
    let failed: unknown;
    let replay = false;
    const take = (verdict: unknown): void => void (verdict === 'replay' && (replay = true));
    const done = eachInOrder(this.plugins.afters, (plugin) => {
      if (failed !== undefined) return undefined;
      try {
        const verdict = plugin.afterAttempt!(attempt, end);
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
    const settle = (): Verdict => {
      if (failed !== undefined) throw failed;
      return replay ? 'replay' : undefined;
    };
    return done ? done.then(settle) : settle();
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
