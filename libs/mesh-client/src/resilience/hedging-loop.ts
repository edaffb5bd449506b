import { status } from '@grpc/grpc-js';
import { asyncScheduler, type Subscription } from 'rxjs';
import { MAX_TIMER_MS } from '../config/defaults.js';
import type { ResolvedHedgingPolicy } from '../config/policies.js';
import { isLocalFailure, isMeshClientError } from '../errors/mesh-client.error.js';
import { withAttempts } from '../errors/to-mesh-error.js';
import { openGate, type AttemptHooks, type AttemptSink, type GatedAttempt, type GateOwner, type RunningAttempt } from './attempt-gate.js';
import { breakerOpen, type CallSink, type LoopCall, type LoopSettings } from './attempt-loop.js';
import { readPushback } from './pushback.js';

/** What hedging needs that is the same for every call of a method. */
export interface HedgingLoopSettings extends LoopSettings {
  readonly hedging: ResolvedHedgingPolicy;
  /**
   * A place for one more copy in flight, when the call's own is taken (a concurrency limit):
   * its release, or undefined when there is none now (the copy waits for the next turn).
   */
  readonly extraPermit?: () => (() => void) | undefined;
  /** The error a copy that lost sees in its `after` hooks. */
  readonly lost?: () => unknown;
}

/** A copy in flight and what it holds. */
interface Copy<T> {
  readonly attempt: GatedAttempt<T>;
  value: { v: T } | undefined;
  release: (() => void) | undefined;
}

const LOST = (): Error => new Error('another hedged copy answered first');

/**
 * Hedging as gRFC A6 has it, for unary calls of idempotent methods: a copy of the call every
 * `delayMs` until one succeeds or `maxAttempts` were sent; the first answer wins and the others
 * are cancelled on the wire (their `after` hooks run). A failure with a non-fatal code sends the
 * next copy at once, a fatal one ends the call. Each copy passes the gate (breaker, hooks). Each
 * further copy needs a place in the concurrency limit (it waits for the next turn without one)
 * and takes a token of the retry budget when it is sent, given back when that copy answers first:
 * hedging past a slow replica pays for itself, hedging that does not pay off (every replica slow)
 * stops once it spent half the budget. Server pushback delays the next copy by its value, or
 * stops hedging. Never past the deadline.
 */
export class HedgingLoop<T> implements GateOwner<T> {
  /** Copies started so far. */
  attempts = 0;
  private readonly copies: Copy<T>[] = [];
  private timer: Subscription | undefined;
  private stopHedging = false;
  private replayed = false;
  private lastError: unknown;
  private done = false;

  constructor(
    readonly gate: HedgingLoopSettings,
    private readonly call: LoopCall<T>,
    private readonly out: CallSink<T>,
  ) {}

  get hooks(): AttemptHooks | undefined {
    return this.call.hooks;
  }

  run(n: number, sink: AttemptSink<T>): RunningAttempt {
    return this.call.attempt(n, sink);
  }

  start(): void {
    this.launch();
  }

  /** The call is over from outside: every copy is stopped, its `after` hooks see `error`. */
  stop(error: unknown, counts = false): void {
    if (this.done) return;
    this.done = true;
    this.cancelAll(() => error, counts);
  }

  committedAfter(error: unknown): boolean {
    return error === undefined;
  }

  attemptValue(attempt: GatedAttempt<T>, value: T): void {
    const copy = this.copyOf(attempt);
    if (copy) copy.value = { v: value };
  }

  attemptEnded(attempt: GatedAttempt<T>, error: unknown, verdict: 'replay' | undefined): void {
    const copy = this.remove(attempt);
    if (!copy || this.done) return;
    if (error === undefined) {
      this.done = true;
      // the copy paid off: its token comes back (only copies that did not are spent)
      if (attempt.n > 1 && !this.replayed) this.gate.budget?.refund();
      this.cancelAll(this.gate.lost ?? LOST);
      if (copy.value) this.out.value(copy.value.v, attempt.n);
      return this.out.end(undefined, attempt.n);
    }
    if (isLocalFailure(error)) return this.finish(error, attempt.n);
    if (verdict === 'replay' && !this.replayed) {
      this.replayed = true;
      this.lastError = error;
      return this.launch(true);
    }
    const code = isMeshClientError(error) ? error.code : status.UNKNOWN;
    const nonFatal = this.gate.hedging.nonFatalCodes.has(code) && isMeshClientError(error) && error.category !== 'tls';
    if (!nonFatal) return this.finish(error, attempt.n);
    this.lastError = error;
    const pushback = readPushback(isMeshClientError(error) ? error.trailers : undefined);
    if (pushback.kind === 'stop') this.stopHedging = true;
    if (pushback.kind !== 'wait') return this.launch();
    this.schedule(pushback.ms);
    this.settleIfIdle();
  }

  hookFailed(attempt: GatedAttempt<T>, error: unknown): void {
    this.remove(attempt);
    this.finish(error, attempt.n);
  }

  /** Sends the next copy if hedging goes on and the budget and the limit have room; `replay` is outside maxAttempts. */
  private launch(replay = false): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
    if (this.done) return;
    if (!replay && (this.stopHedging || this.attempts >= this.gate.hedging.maxAttempts)) return this.settleIfIdle();
    const budget = this.gate.budget;
    if (!replay && this.attempts > 0 && budget && !budget.canRetry()) {
      this.stopHedging = true;
      return this.settleIfIdle();
    }
    const release = this.copies.length > 0 ? this.gate.extraPermit?.() : undefined;
    if (this.copies.length > 0 && this.gate.extraPermit && !release) return this.schedule(this.gate.hedging.delayMs);
    const n = this.attempts + 1;
    const attempt = openGate(this, n);
    if (!attempt) {
      release?.();
      this.stopHedging = true;
      if (this.copies.length === 0) this.finish((this.gate.rejection ?? breakerOpen)(this.attempts), 0);
      return;
    }
    this.attempts = n;
    if (n > 1 && !replay) {
      budget?.onFailure();
      this.call.hedged?.(n);
    }
    this.copies.push({ attempt, value: undefined, release });
    if (this.attempts < this.gate.hedging.maxAttempts) this.schedule(this.gate.hedging.delayMs);
    attempt.begin();
  }

  private schedule(delayMs: number): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
    if (this.done || delayMs > MAX_TIMER_MS || this.gate.now() + delayMs >= this.call.deadline) return;
    this.timer = (this.gate.scheduler ?? asyncScheduler).schedule(() => this.launch(), delayMs);
  }

  /** Hedging is over and no copy is out: the call fails with the last copy's error. */
  private settleIfIdle(): void {
    if (this.done || this.copies.length > 0 || this.timer) return;
    this.finish(this.lastError ?? new Error('no hedged attempt could be sent'), 0);
  }

  private finish(error: unknown, n: number): void {
    if (this.done) return;
    this.done = true;
    this.cancelAll(() => error);
    this.out.end(withAttempts(error, this.attempts), n);
  }

  private cancelAll(errorOf: () => unknown, counts = false): void {
    this.timer?.unsubscribe();
    this.timer = undefined;
    const copies = this.copies.splice(0);
    for (const copy of copies) {
      copy.release?.();
      copy.attempt.stop(errorOf(), counts);
    }
  }

  private copyOf(attempt: GatedAttempt<T>): Copy<T> | undefined {
    return this.copies.find((copy) => copy.attempt === attempt);
  }

  private remove(attempt: GatedAttempt<T>): Copy<T> | undefined {
    const i = this.copies.findIndex((copy) => copy.attempt === attempt);
    if (i < 0) return undefined;
    const [copy] = this.copies.splice(i, 1);
    copy!.release?.();
    copy!.release = undefined;
    return copy;
  }
}
