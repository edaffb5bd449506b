import { status as Status, type Metadata } from '@grpc/grpc-js';
import { isPromiseLike, watchUnawaited } from '../../config/promise-like.js';
import type { MeshAttemptEnd, MeshCall, MeshClientPlugin } from '../../config/mesh-plugin.interface.js';
import { classifyStatus } from '../../errors/error-category.js';
import { isMeshAttemptFault } from '../../errors/mesh-attempt-fault.error.js';
import { isMeshClientError } from '../../errors/mesh-client.error.js';
import { safeText } from '../../errors/safe-text.js';
import { localError, type CallSite } from '../../errors/to-mesh-error.js';
import type { AttemptAnswer, AttemptHooks, AttemptOutcome } from '../../resilience/attempt-gate.js';
import { pluginError } from './plugin-error.js';
import { describeThrown, withoutSecret, type Secrets } from '../../errors/describe-thrown.js';
import type { MethodPlugins } from './plugin-set.js';
import { HookedAttempt, type AttemptMetadata } from './hooked-attempt.js';

type Verdict = void | 'replay';

/** A status a plugin may answer an attempt with (MeshAttemptFault): a failure code, 1..16. */
const isFaultCode = (code: unknown): code is number => typeof code === 'number' && Number.isInteger(code) && code >= 1 && code <= 16;

/** What the hooks know of one attempt (hedged copies run side by side). */
class AttemptState {
  readonly startedAt = performance.now();
  /** Plugins (of `plugins.attempts`) the `before` pass reached: they, and only they, see the end. */
  reached = 0;
  /**
   * Plugins from this index on were given the end (`afterAttempt` runs from the last reached
   * down, once each: whichever pass over it comes first, the one the attempt ended with or the
   * final one that cancelled it meanwhile, takes the next plugin below).
   */
  endFrom = Number.MAX_SAFE_INTEGER;
  /** Where the attempt's trailers are once it ended (its wire). */
  received: { readonly trailers: Metadata | undefined } | undefined;
  answer: AttemptAnswer | undefined;
  failed: unknown;
  /** The attempt is over for good (its final end was seen): no further `beforeAttempt` starts. */
  closed = false;

  constructor(readonly attempt: HookedAttempt) {}
}

const ignore = (): void => undefined;

/** One `afterAttempt` pass over an attempt's end: what its hooks answered so far. */
class AfterPass {
  failed: unknown = undefined;
  replay = false;
  /** In the final pass: the hooks that answered with a promise (none is waited for; their failures are reported late). */
  late: [MeshClientPlugin, unknown][] | undefined = undefined;

  constructor(
    readonly end: MeshAttemptEnd,
    readonly final: boolean,
  ) {}
}

/**
 * The per-attempt hooks of the plugins of one call, as the attempt gate's hooks: `beforeAttempt`
 * in order (module plugins first), `onHeaders` as headers arrive, `afterAttempt` in reverse order
 * (the first plugin is the last to see an attempt end), once for every plugin whose turn came
 * before the attempt, whatever ended it (an answer, a cancellation, the deadline, a lost hedge).
 * A MeshAttemptFault thrown by `beforeAttempt` becomes the attempt's answer; anything else thrown
 * fails the call ('internal', naming the plugin).
 */
export class AttemptPlugins implements AttemptHooks {
  /** By attempt number (an array: a per-call Map allocates again as it shrinks). */
  private readonly states: (AttemptState | undefined)[] = [];

  constructor(
    private readonly plugins: MethodPlugins,
    private readonly call: MeshCall,
    private readonly site: CallSite,
    private readonly metadataOf: AttemptMetadata,
    private readonly warn?: (text: string) => void, // where a rejected onHeaders Promise goes
    /** The call's tokens (those noted on `call` too), read when a hook fails: masked in its failure (plugin-error.ts). */
    private readonly secrets?: (call: MeshCall) => Secrets,
  ) {}

  /** The call's secrets (its tokens, and the credentials of the metadata its hooks read or changed). */
  private tokens(): Secrets | undefined {
    return this.secrets?.(this.call);
  }

  /** Some plugin reads the attempts' response headers. */
  get readsHeaders(): boolean {
    return this.plugins.headerReaders.length > 0;
  }

  before(n: number): void | AttemptAnswer | Promise<void | AttemptAnswer> {
    const state = new AttemptState(new HookedAttempt(this.call, n, this.metadataOf));
    this.states[n] = state;
    return this.beforeFrom(state, 0);
  }

  /** Runs `beforeAttempt` from plugin `i` on; synchronously while each hook returns synchronously. */
  private beforeFrom(state: AttemptState, i: number): void | AttemptAnswer | Promise<void | AttemptAnswer> {
    const list = this.plugins.attempts;
    for (; i < list.length; i++) {
      if (state.closed) return undefined;
      if (state.failed !== undefined || state.answer) break;
      const plugin = list[i]!;
      state.reached = i + 1;
      if (!plugin.beforeAttempt) continue;
      let pending: unknown;
      let later: boolean;
      try {
        pending = plugin.beforeAttempt(state.attempt);
        later = isPromiseLike(pending); // (a `then` getter that throws is the plugin's)
      } catch (error) {
        this.refuse(state, plugin, error);
        continue;
      }
      if (!later) continue;
      return this.beforeLater(state, plugin, pending, i + 1);
    }
    if (state.failed !== undefined) throw state.failed;
    return state.answer;
  }

  /**
   * The pass once a hook answered with a promise: on from plugin `next` when it settles. (Its own
   * method: the closures live here, so the synchronous loop above captures nothing and allocates
   * no context per call.)
   */
  private beforeLater(state: AttemptState, plugin: MeshClientPlugin, pending: unknown, next: number): Promise<void | AttemptAnswer> {
    return Promise.resolve(pending).then(
      () => this.beforeFrom(state, next),
      (error: unknown) => {
        this.refuse(state, plugin, error);
        return this.beforeFrom(state, next);
      },
    );
  }

  /** A fault the hook asked for becomes the attempt's answer; any other throw fails the call. */
  private refuse(state: AttemptState, plugin: MeshClientPlugin, thrown: unknown): void {
    const n = state.attempt.attempt;
    if (isMeshAttemptFault(thrown) && isFaultCode(thrown.code)) {
      state.answer ??= { answer: localError(this.site, thrown.code, withoutSecret(String(thrown.details), this.tokens()), { attempts: n }) };
      return;
    }
    const reason = isMeshAttemptFault(thrown)
      ? new TypeError(`its MeshAttemptFault has code ${String(thrown.code)}; a fault's code is a failure status, 1..16`)
      : thrown;
    state.failed ??= pluginError(this.site, plugin, 'beforeAttempt', reason, n - 1, this.tokens());
  }

  /** `onHeaders` of every plugin that reads them; the error of the first that throws. */
  headers(n: number, headers: Metadata): unknown {
    const attempt = this.states[n]?.attempt;
    if (!attempt) return undefined;
    for (const plugin of this.plugins.headerReaders) {
      try {
        const answer: unknown = plugin.onHeaders!(attempt, headers);
        if (answer !== undefined) watchUnawaited(answer, (error) => this.lateHeaders(plugin, error));
      } catch (error) {
        return pluginError(this.site, plugin, 'onHeaders', error, n, this.tokens());
      }
    }
    return undefined;
  }

  /** An `onHeaders` that returned a Promise, which then rejected: too late to fail its attempt, so a warning. */
  private lateHeaders(plugin: MeshClientPlugin, error: unknown): void {
    const reason = safeText(withoutSecret(describeThrown(error), this.tokens()), 300);
    this.warn?.(`plugin '${plugin.name}' failed in onHeaders (a Promise it returned rejected; onHeaders is not awaited): ${reason}`);
  }

  /** Attempt `n` goes on the wire with `metadata`; its trailers will be in `received`, for its end as the hooks see it. */
  attach(n: number, received: { readonly trailers: Metadata | undefined }, metadata: Metadata): void {
    const state = this.states[n];
    if (!state) return;
    state.received = received;
    state.attempt.sent(metadata);
  }

  after(n: number, outcome: AttemptOutcome): Verdict | Promise<Verdict> {
    const state = this.states[n];
    if (!state) return undefined;
    if (outcome.final) {
      state.closed = true;
      this.states[n] = undefined;
    }
    return this.afterFrom(state, new AfterPass(this.endOf(state, outcome), outcome.final), state.reached - 1);
  }

  /**
   * Runs `afterAttempt` from plugin `i` down; synchronously while each hook returns synchronously
   * (a method, not a closure per attempt: the usual pass allocates only its AfterPass).
   */
  private afterFrom(state: AttemptState, pass: AfterPass, i: number): Verdict | Promise<Verdict> {
    const list = this.plugins.attempts;
    const n = state.attempt.attempt;
    // (clamped at every step: a hook may end the attempt again inside its own call, e.g. by aborting the call)
    for (i = Math.min(i, state.endFrom - 1); i >= 0; i = Math.min(i - 1, state.endFrom - 1)) {
      const plugin = list[i]!;
      state.endFrom = i;
      if (!plugin.afterAttempt) continue;
      let verdict: unknown;
      let later: boolean;
      try {
        verdict = plugin.afterAttempt(state.attempt, pass.end);
        later = isPromiseLike(verdict);
      } catch (error) {
        this.afterFailed(state, pass, plugin, error);
        continue;
      }
      if (!later) {
        if (verdict === 'replay') pass.replay = true;
        continue;
      }
      // the call is over: every hook runs now, none is waited for
      if (pass.final) (pass.late ??= []).push([plugin, verdict]);
      else return this.afterLater(state, pass, plugin, verdict, i - 1);
    }
    if (!pass.final) this.states[n] = undefined;
    const late = pass.late && this.lateFailure(pass.late, n);
    if (pass.failed !== undefined) {
      late?.then(undefined, ignore); // the first failure is reported: this one
      throw pass.failed;
    }
    return late ?? (pass.replay ? 'replay' : undefined);
  }

  /** A hook's promise in a non-final pass: the pass goes on from plugin `rest` when it settles (its own method, as `beforeLater`). */
  private afterLater(state: AttemptState, pass: AfterPass, plugin: MeshClientPlugin, verdict: unknown, rest: number): Promise<Verdict> {
    return Promise.resolve(verdict).then(
      (v) => {
        if (v === 'replay') pass.replay = true;
        return this.afterFrom(state, pass, rest);
      },
      (error: unknown) => {
        this.afterFailed(state, pass, plugin, error);
        return this.afterFrom(state, pass, rest);
      },
    );
  }

  /**
   * The final pass's hooks that answered with a promise: nothing waits for them (the call is
   * over), but the first of them to reject fails what this returns, for the gate to report late.
   */
  private lateFailure(late: [MeshClientPlugin, unknown][], n: number): Promise<Verdict> {
    const named = late.map(([plugin, verdict]) => {
      const fail = (error: unknown): never => {
        throw pluginError(this.site, plugin, 'afterAttempt', error, n, this.tokens());
      };
      try {
        return Promise.resolve(verdict).then(undefined, fail);
      } catch (error) {
        // a thenable whose `then` throws at once: that hook's failure, and every other one still gets its handler
        return Promise.reject(pluginError(this.site, plugin, 'afterAttempt', error, n, this.tokens()));
      }
    });
    return Promise.all(named).then(() => undefined);
  }

  private afterFailed(state: AttemptState, pass: AfterPass, plugin: MeshClientPlugin, error: unknown): void {
    pass.failed ??= pluginError(this.site, plugin, 'afterAttempt', error, state.attempt.attempt, this.tokens());
  }

  private endOf(state: AttemptState, outcome: AttemptOutcome): MeshAttemptEnd {
    const durationMs = performance.now() - state.startedAt;
    const error = outcome.error;
    const trailers = state.received?.trailers;
    if (error === undefined) return { code: Status.OK, codeName: 'OK', details: '', trailers, committed: true, durationMs };
    const mesh = isMeshClientError(error) ? error : undefined;
    const code = mesh?.code ?? Status.UNKNOWN;
    return {
      code,
      codeName: classifyStatus(code).codeName,
      details: mesh?.details ?? '',
      trailers: mesh?.trailers ?? trailers,
      committed: outcome.committed,
      durationMs,
    };
  }
}
