import { status as Status } from '@grpc/grpc-js';
import { Observable, isObservable, type Subscriber, type Subscription } from 'rxjs';
import { takePushes, unsubscribe, type PushTaker } from './request-upstream.js';
import { REPLAY_BUFFER_MESSAGES } from '../../config/defaults.js';
import { localError, type CallSite } from '../../errors/to-mesh-error.js';

/** Whether a request stream pushes (an Observable or a Promise) rather than being pulled. */
export function pushes(requests: unknown): requests is Observable<unknown> | PromiseLike<unknown> {
  return isObservable(requests) || typeof (requests as PromiseLike<unknown> | null)?.then === 'function';
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
  private readonly values: unknown[] = [];
  private readonly subscribers = new Set<Subscriber<unknown>>();
  private ending: { error: unknown } | { done: true } | undefined;
  private joined = false;
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
    this.values.length = 0;
  }

  /** The call is over: the caller's stream is let go of (never throws). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.release();
    this.subscribers.clear();
    const subscription = this.subscription;
    this.subscription = undefined;
    if (subscription) unsubscribe(subscription);
  }

  private join(subscriber: Subscriber<unknown>): (() => void) | undefined {
    if (this.overflowed) {
      const details = `the request stream cannot be sent again: its first messages are no longer kept (a response arrived, or more than ${String(REPLAY_BUFFER_MESSAGES)} were read)`;
      subscriber.error(localError(this.site, Status.INTERNAL, details, { local: true }));
      return undefined;
    }
    this.joined = true;
    // (what a subscriber does may make the caller push more: it is appended, and read here in order)
    for (let i = 0; i < this.values.length && !subscriber.closed; i++) subscriber.next(this.values[i]);
    // everything pushed before the first subscriber came is kept for it, and no longer past the buffer
    if (this.values.length > REPLAY_BUFFER_MESSAGES) this.release();
    if (subscriber.closed) return undefined;
    const ending = this.ending;
    if (ending) {
      if ('error' in ending) subscriber.error(ending.error);
      else subscriber.complete();
      return undefined;
    }
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  push(value: unknown): void {
    if (this.closed) return;
    if (!this.overflowed) {
      if (this.joined && this.values.length >= REPLAY_BUFFER_MESSAGES) this.release();
      else this.values.push(value);
    }
    for (const subscriber of [...this.subscribers]) subscriber.next(value);
  }

  end(ending: { error: unknown } | { done: true }): void {
    if (this.ending || this.closed) return;
    this.ending = ending;
    const subscribers = [...this.subscribers];
    this.subscribers.clear();
    for (const subscriber of subscribers) {
      if ('error' in ending) subscriber.error(ending.error);
      else subscriber.complete();
    }
  }
}
