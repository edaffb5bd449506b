import type { CallKind } from '../proto/method-table.js';
import type { FakeStatusError } from './fake-status.js';

const ALL = '*';

/** The scripted faults one call meets, decided when it arrives. */
export interface CallFaults {
  /** Answer with this status (after any delay) instead of running the handler. */
  readonly fail: FakeStatusError | undefined;
  /** Never answer (until the client cancels or the fake closes). */
  readonly hang: boolean;
  /** Wait this long before answering. */
  readonly delayMs: number;
  /** Streams: end with `error` once `count` messages were sent. */
  readonly sendAfter: { readonly count: number; readonly error: Error } | undefined;
}

/**
 * The faults scripted on a fake, by RPC name ('*' for every method): failures counted down per
 * call in arrival order, delays, hangs and stream failures that hold until `clear()`.
 */
export class FaultScript {
  private readonly failures: { remaining: number; error: FakeStatusError }[] = [];
  private readonly delays = new Map<string, number>();
  private readonly hangs = new Set<string>();
  private readonly streamFailures = new Map<string, { count: number; error: Error }>();

  /** The next `n` calls (any method, after those already scripted) fail with `error`. */
  failNext(n: number, error: FakeStatusError): void {
    if (n > 0) this.failures.push({ remaining: n, error });
  }

  /** Calls of `rpc` (every method without it) wait `ms` before answering; a method's own delay wins. */
  delay(ms: number, rpc = ALL): void {
    this.delays.set(rpc, ms);
  }

  /** Calls of `rpc` (every method without it) are never answered. */
  hang(rpc = ALL): void {
    this.hangs.add(rpc);
  }

  /** Response streams of `rpc` (every streaming method without it) fail with `error` after `count` messages. */
  sendAfter(count: number, error: Error, rpc = ALL): void {
    this.streamFailures.set(rpc, { count, error });
  }

  /** Forgets every scripted fault. */
  clear(): void {
    this.failures.length = 0;
    this.delays.clear();
    this.hangs.clear();
    this.streamFailures.clear();
  }

  /** The faults of a call of `rpc` arriving now (takes one scripted failure, if any). */
  take(rpc: string, kind: CallKind): CallFaults {
    const next = this.failures[0];
    if (next && --next.remaining === 0) this.failures.shift();
    const streaming = kind === 'server-stream' || kind === 'bidi';
    return {
      fail: next?.error,
      hang: this.hangs.has(rpc) || this.hangs.has(ALL),
      delayMs: this.delays.get(rpc) ?? this.delays.get(ALL) ?? 0,
      sendAfter: streaming ? (this.streamFailures.get(rpc) ?? this.streamFailures.get(ALL)) : undefined,
    };
  }
}
