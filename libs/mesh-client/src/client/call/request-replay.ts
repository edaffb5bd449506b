import { status as Status } from '@grpc/grpc-js';
import { Observable, isObservable, type Subscriber, type Subscription } from 'rxjs';
import { takePushes, unsubscribe, type PushTaker } from './request-upstream.js';
import { REPLAY_BUFFER_MESSAGES } from '../../config/defaults.js';
import { isPromiseLike } from '../../config/promise-like.js';
import { localError, type CallSite } from '../../errors/to-mesh-error.js';
import { ownRequestError } from './request-stream-failure.js';

/** Whether a request stream pushes (an Observable or a Promise) rather than being pulled. */
export function pushes(requests: unknown): requests is Observable<unknown> | PromiseLike<unknown> {
  return isObservable(requests) || isPromiseLike(requests);
}

/**
 * A caller's pushing request stream as the intercepting plugins of its call see it (`call.request`,
 * an Observable): the caller's stream is subscribed once, when the call starts, and every
 * subscription of `view` (a run, a plugin's `pipe(map(...))` of it, a re-subscription) gets what
 * it pushed so far, then the rest. Everything is kept until the first subscriber comes, then up to
 * REPLAY_BUFFER_MESSAGES, and nothing once the call committed: a subscription after that gets an
 * error saying the stream cannot be sent again.
 */
export class RequestReplay implements PushTaker {
  readonly view: Observable<unknown>;
  /** What the caller pushed, from the first (while replayable); the last `outbox.length` not yet handed out. */
  private readonly values: unknown[] = [];
  private readonly subscribers = new Set<Subscriber<unknown>>();
  /** Pushes and the end, handed out in order, one at a time (a push made while one is handed out waits its turn). */
  private readonly outbox: ({ value: unknown; kept: boolean } | { ending: Ending })[] = [];
  /** Entries of the outbox that are also the last of `values`. */
  private keptPending = 0;
  private emitting = false;
  private ending: Ending | undefined;
  /** The end was handed out: a subscriber joining now gets it at once. */
  private ended = false;
  private joined = false;
  /** Subscribers reading the kept messages right now: nothing kept is dropped meanwhile. */
  private joining = 0;
  private overflowed = false;
  private subscription: Subscription | undefined;
  private closed = false;

  constructor(
    private readonly source: Observable<unknown> | PromiseLike<unknown>,
    private readonly site: CallSite,
  ) {
    this.view = new Observable<unknown>((subscriber) => this.join(subscriber));
  }

  /** Subscribes the caller's stream (once). */
  start(): void {
    if (this.closed || this.subscription) return;
    const subscription = takePushes(this.source, this);
    if (this.closed) unsubscribe(subscription);
    else this.subscription = subscription;
  }

  /** The call committed: nothing more is kept, a later subscription is refused. */
  release(): void {
    this.overflowed = true;
    if (this.joining > 0) return;
    this.values.length = 0;
    this.keptPending = 0;
    for (const entry of this.outbox) if ('value' in entry) entry.kept = false;
  }

  /** The call is over: the caller's stream is let go of, and whoever still reads this one is told it ended (never throws). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    this.outbox.length = 0;
    const subscription = this.subscription;
    this.subscription = undefined;
    if (subscription) unsubscribe(subscription);
    const subscribers = [...this.subscribers];
    this.subscribers.clear();
    for (const subscriber of subscribers) subscriber.complete();
  }

  push(value: unknown): void {
    if (this.closed || this.ending) return;
    // kept while replayable; while a subscriber catches up on what is kept it reads on from here
    const kept = !this.overflowed || this.joining > 0;
    if (kept) {
      this.values.push(value);
      this.keptPending++;
    }
    this.outbox.push({ value, kept });
    if (!this.overflowed && this.joined && this.values.length > REPLAY_BUFFER_MESSAGES) this.release();
    this.emit();
  }

  end(ending: Ending): void {
    if (this.ending || this.closed) return;
    this.ending = ending;
    this.outbox.push({ ending });
    this.emit();
  }

  private join(subscriber: Subscriber<unknown>): (() => void) | undefined {
    if (this.overflowed) {
      const details = `the request stream cannot be sent again: its first messages are no longer kept (a response arrived, or more than ${String(REPLAY_BUFFER_MESSAGES)} were read)`;
      subscriber.error(ownRequestError(localError(this.site, Status.INTERNAL, details, { local: true })));
      return undefined;
    }
    this.joined = true;
    this.joining++;
    try {
      // what was handed out so far, in order (what the subscriber does may make the caller push
      // more: it waits in the outbox, and comes to this subscriber with everyone's)
      for (let i = 0; i < this.values.length - this.keptPending && !subscriber.closed; i++) subscriber.next(this.values[i]);
    } finally {
      this.joining--;
    }
    // everything pushed before the first subscriber came is kept for it, and no longer past the buffer
    if (this.joining === 0 && (this.overflowed || this.values.length > REPLAY_BUFFER_MESSAGES)) this.release();
    if (subscriber.closed) return undefined;
    if (this.ended) {
      const ending = this.ending!;
      if ('error' in ending) subscriber.error(ending.error);
      else subscriber.complete();
      return undefined;
    }
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  /** Hands out the outbox in order, each entry to the subscribers there when its turn comes. */
  private emit(): void {
    if (this.emitting) return;
    this.emitting = true;
    try {
      for (let next = this.outbox.shift(); next !== undefined; next = this.outbox.shift()) {
        const subscribers = [...this.subscribers];
        if ('value' in next) {
          if (next.kept) this.keptPending--;
          for (const subscriber of subscribers) subscriber.next(next.value);
          continue;
        }
        this.ended = true;
        this.subscribers.clear();
        for (const subscriber of subscribers) {
          if ('error' in next.ending) subscriber.error(next.ending.error);
          else subscriber.complete();
        }
      }
    } finally {
      this.emitting = false;
    }
  }
}

type Ending = { error: unknown } | { done: true };
