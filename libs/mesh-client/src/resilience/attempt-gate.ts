import { status } from '@grpc/grpc-js';
import { isPromiseLike } from '../config/promise-like.js';
import { isLocalFailure, isMeshClientError } from '../errors/mesh-client.error.js';
import { outcomeOf, type BreakerOutcome, type CircuitBreaker } from './circuit-breaker.js';
import type { RetryBudget } from './retry-budget.js';

/** Where one attempt reports: its responses, then its end (`undefined`: it succeeded). */
export interface AttemptSink<T> {
  value(value: T): void;
  end(error: unknown): void;
  /** The server answered: its response headers arrived (before any message). */
  answered?(): void;
}

/** A started attempt. */
export interface RunningAttempt {
  /** Stops it (on the wire: cancels the call); its sink hears nothing more. */
  cancel(): void;
}

/** Starts attempt `n` (1-based), which reports to `sink`, possibly before this returns. */
export type AttemptRunner<T> = (n: number, sink: AttemptSink<T>) => RunningAttempt;

/** What a `before` hook may give instead of letting the attempt go out: its outcome, as if the server had sent it. */
export interface AttemptAnswer {
  readonly answer: unknown;
}

/** How one attempt ended, as the `after` hook sees it. */
export interface AttemptOutcome {
  /** The attempt's error; undefined when it succeeded. */
  readonly error: unknown;
  /** A response already reached the caller, or the requests cannot be sent again. */
  readonly committed: boolean;
  /**
   * The call is over (cancelled, past its deadline, failed by a hook, or this copy lost a hedge):
   * the verdict is ignored and nothing waits for the hook.
   */
  readonly final: boolean;
}

/**
 * Work around each attempt (the plugins' per-attempt hooks). `after` runs once for every attempt
 * whose `before` ran; it may be called a second time with `final` while its first run is pending
 * (the call ended meanwhile): the hooks must then finish without waiting, each hook once.
 */
export interface AttemptHooks {
  /** After the breaker admitted attempt `n`, before it starts. Throwing fails the call. */
  before?(n: number): void | AttemptAnswer | PromiseLike<void | AttemptAnswer>;
  /** When attempt `n` ended; 'replay' asks for one more attempt of an uncommitted call. Throwing fails the call. */
  after?(n: number, outcome: AttemptOutcome): void | 'replay' | PromiseLike<void | 'replay'>;
}

/** What the gate counts and feeds, the same for every call of a method (shared, made once). */
export interface GateSettings {
  readonly breaker?: CircuitBreaker;
  readonly budget?: RetryBudget;
  /** Whether a failure with `code` takes a token of the budget (the retry loop: its retryable codes). */
  readonly takesToken?: (code: number) => boolean;
  /** Told how long each attempt the server answered took (streams: until their first response). */
  readonly onLatency?: (ms: number) => void;
  /** The first response of a stream tells the latency, not its end. */
  readonly streamsResponses?: boolean;
  /**
   * The breaker judges a stream the server answered (its response headers or a first message)
   * by how it fails, not by its deadline: the answer settles a half-open probe at once (a long
   * stream does not hold the breaker), and a deadline that ends it afterwards (a watch's bound, a
   * slow reader) is no server fault; a server fault afterwards (UNAVAILABLE mid-stream) still
   * counts. The client's streaming calls; the `circuitBreaker` operator counts every end as it is.
   */
  readonly breakerForStreams?: boolean;
  /** Where a hook that fails after its call ended is reported (there is no caller to tell). */
  readonly onLateHookError?: (error: unknown) => void;
}

/** Who runs attempts through the gate (the retry loop, hedging): what it counts, its hooks, how it starts one. */
export interface GateOwner<T> {
  readonly gate: GateSettings;
  readonly hooks: AttemptHooks | undefined;
  /** Starts attempt `n` (the call's runner). */
  run(n: number, sink: AttemptSink<T>): RunningAttempt;
  attemptValue(attempt: GatedAttempt<T>, value: T): void;
  /** The attempt ended and its `after` hooks ran: `error` undefined on success. */
  attemptEnded(attempt: GatedAttempt<T>, error: unknown, verdict: 'replay' | undefined): void;
  /** A hook of the attempt failed: the call fails with `error`. */
  hookFailed(attempt: GatedAttempt<T>, error: unknown): void;
  /** Whether the call is committed once the attempt ended with `error`. */
  committedAfter(error: unknown): boolean;
}

type Phase = 'before' | 'running' | 'after' | 'done';

const isAnswer = (value: unknown): value is AttemptAnswer => typeof value === 'object' && value !== null && 'answer' in value;

/**
 * The one way an attempt is made, whoever makes it: breaker admission, the `before` hooks, the
 * attempt itself, its outcome recorded (breaker, budget, latency) as soon as it is known, then the
 * `after` hooks, then the owner's decision. An attempt stopped at any point (the call cancelled or
 * past its deadline, a hedge lost) gives its breaker admission back and still has its `after`
 * hooks run. Nothing a hook throws or rejects escapes: it becomes the owner's `hookFailed`.
 *
 * Attempt `n` admitted by the breaker, or undefined when the breaker refuses it. The owner keeps
 * it, then calls `begin()` (it may end inside).
 */
export function openGate<T>(owner: GateOwner<T>, n: number): GatedAttempt<T> | undefined {
  const breaker = owner.gate.breaker;
  if (breaker && !breaker.tryAcquire()) return undefined;
  return new GatedAttempt(owner, n);
}

/** Runs the `after` hooks of an attempt that is over for good, waiting for nothing. */
function finalAfter(owner: GateOwner<unknown>, n: number, error: unknown): void {
  const hooks = owner.hooks;
  if (!hooks?.after) return;
  try {
    const result = hooks.after(n, { error, committed: true, final: true });
    if (isPromiseLike(result)) result.then(undefined, (e: unknown) => owner.gate.onLateHookError?.(e));
  } catch (e) {
    owner.gate.onLateHookError?.(e);
  }
}

/** One attempt in the gate, with its phase. */
export class GatedAttempt<T> implements AttemptSink<T> {
  private phase: Phase = 'before';
  private running: RunningAttempt | undefined;
  private startedAt = 0;
  private sampled = false;
  /** The breaker heard this attempt's outcome (a half-open probe's stream: when the server answered). */
  private counted = false;
  /** The server answered: headers or a message (noted only with `breakerForStreams`). */
  private responded = false;

  constructor(
    private readonly owner: GateOwner<T>,
    readonly n: number,
    /** The breaker's state when it admitted the attempt (read right after its admission). */
    private readonly epoch: number = owner.gate.breaker?.epoch ?? 0,
  ) {}

  /** Runs the `before` hooks, then the attempt. */
  begin(): void {
    const hooks = this.owner.hooks;
    if (!hooks?.before) return this.launch();
    let result: ReturnType<NonNullable<AttemptHooks['before']>>;
    try {
      result = hooks.before(this.n);
    } catch (error) {
      return this.refuse(error);
    }
    if (!isPromiseLike(result)) return this.admitted(result);
    result.then(
      (value) => this.phase === 'before' && this.admitted(value),
      (error: unknown) => this.phase === 'before' && this.refuse(error),
    );
  }

  /** True until the attempt's outcome is known. */
  get pending(): boolean {
    return this.phase === 'before' || this.phase === 'running';
  }

  value(value: T): void {
    if (this.phase !== 'running') return;
    if (this.owner.gate.streamsResponses && !this.sampled) this.sample();
    this.answered();
    this.owner.attemptValue(this, value);
  }

  answered(): void {
    const gate = this.owner.gate;
    if (!gate.breakerForStreams || this.responded || this.phase !== 'running') return;
    this.responded = true;
    if (gate.breaker?.answerProbe(this.epoch)) this.counted = true;
  }

  end(error: unknown): void {
    if (this.phase !== 'running' && this.phase !== 'before') return;
    this.phase = 'after';
    this.running = undefined;
    this.record(error);
    const hooks = this.owner.hooks;
    if (!hooks?.after) return this.finish(error, undefined);
    let verdict: void | 'replay' | PromiseLike<void | 'replay'>;
    try {
      verdict = hooks.after(this.n, { error, committed: this.owner.committedAfter(error), final: false });
    } catch (thrown) {
      return this.hookFailed(thrown);
    }
    if (!isPromiseLike(verdict)) return this.finish(error, verdict);
    verdict.then(
      (v) => this.phase === 'after' && this.finish(error, v),
      // stopped meanwhile (cancelled, the deadline): no caller is left to fail, so it is reported late
      (thrown: unknown) => (this.phase === 'after' ? this.hookFailed(thrown) : this.owner.gate.onLateHookError?.(thrown)),
    );
  }

  /**
   * Stops the attempt wherever it is: `error` is what its `after` hooks see. `counts`: the server
   * is to blame (the deadline passed while it was on the wire), so the breaker counts it.
   */
  stop(error: unknown, counts = false): void {
    const phase = this.phase;
    if (phase === 'done') return;
    this.phase = 'done';
    if (phase === 'running') {
      const running = this.running;
      this.running = undefined;
      running?.cancel();
      const code = isMeshClientError(error) ? error.code : undefined;
      this.breaker(counts && code !== undefined ? outcomeOf(code) : 'ignored', code);
    } else if (phase === 'before') {
      this.breaker('ignored');
    }
    finalAfter(this.owner as GateOwner<unknown>, this.n, error);
  }

  private admitted(result: void | AttemptAnswer): void {
    if (isAnswer(result)) return this.end(result.answer);
    this.launch();
  }

  private launch(): void {
    this.phase = 'running';
    this.startedAt = performance.now();
    let running: RunningAttempt;
    try {
      running = this.owner.run(this.n, this);
    } catch (error) {
      return this.end(error);
    }
    // the attempt may have ended (and the next begun) inside the runner
    if (this.phase === 'running') this.running = running;
  }

  /** A `before` hook threw: the admission is given back, the call fails. */
  private refuse(error: unknown): void {
    if (this.phase !== 'before') return;
    this.phase = 'done';
    this.breaker('ignored');
    finalAfter(this.owner as GateOwner<unknown>, this.n, error);
    this.owner.hookFailed(this, error);
  }

  private hookFailed(error: unknown): void {
    this.phase = 'done';
    this.owner.hookFailed(this, error);
  }

  private finish(error: unknown, verdict: void | 'replay'): void {
    this.phase = 'done';
    this.owner.attemptEnded(this, error, verdict === 'replay' ? 'replay' : undefined);
  }

  /** The outcome as the breaker, the budget and the latency feed count it. */
  private record(error: unknown): void {
    const { budget, takesToken } = this.owner.gate;
    if (error === undefined) {
      this.breaker('success');
      budget?.onSuccess();
      if (!this.sampled) this.sample();
      return;
    }
    if (isLocalFailure(error)) return this.breaker('ignored');
    const code = isMeshClientError(error) ? error.code : status.UNKNOWN;
    this.breaker(isMeshClientError(error) ? outcomeOf(code) : 'failure', code);
    if (budget && takesToken?.(code)) budget.onFailure();
    if (!this.sampled && code !== status.CANCELLED && code !== status.DEADLINE_EXCEEDED) this.sample();
  }

  /** Tells the breaker the outcome, once, with the state it admitted the attempt under. */
  private breaker(outcome: BreakerOutcome, code?: number): void {
    if (this.counted) return;
    this.counted = true;
    // a stream that answered, then ran out of time (a watch's bound, a slow reader): no server fault
    const judged = this.responded && code === status.DEADLINE_EXCEEDED ? 'ignored' : outcome;
    this.owner.gate.breaker?.record(judged, this.epoch);
  }

  private sample(): void {
    this.sampled = true;
    if (this.startedAt === 0) return; // answered by a hook, never sent
    this.owner.gate.onLatency?.(performance.now() - this.startedAt);
  }
}
