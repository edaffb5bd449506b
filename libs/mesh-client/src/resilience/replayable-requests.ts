import { REPLAY_BUFFER_MESSAGES } from '../config/defaults.js';
import { Observable, type Subscriber, type Subscription } from 'rxjs';

/**
 * The request stream of a client-streaming or bidi call, made replayable for retries the way gRFC
 * A6 does it: the caller's Observable is subscribed once; messages are kept (up to
 * {@link REPLAY_BUFFER_MESSAGES}) and every attempt gets the kept ones first, then the live ones.
 * Once the buffer overflowed, `replayable` is false and the call is not retried any more. Works
 * with hot sources (Subjects) too, since the source is never subscribed twice.
 */
export class ReplayableRequests<T> {
  private readonly kept: T[] = [];
  private overflow = false;
  private done: { error: unknown } | { complete: true } | undefined;
  private current: Subscriber<T> | undefined;
  private source: Subscription | undefined;

  constructor(
    private readonly requests: Observable<T>,
    private readonly limit = REPLAY_BUFFER_MESSAGES,
  ) {}

  /** True while every message sent so far can be sent again. */
  get replayable(): boolean {
    return !this.overflow;
  }

  /** The request stream of one attempt. */
  readonly attempt$ = new Observable<T>((subscriber) => {
    this.current = subscriber;
    for (const message of this.kept) subscriber.next(message);
    if (this.done) {
      if ('error' in this.done) subscriber.error(this.done.error);
      else subscriber.complete();
    }
    this.source ??= this.requests.subscribe({
      next: (message) => {
        if (!this.overflow) {
          if (this.kept.length < this.limit) this.kept.push(message);
          else this.release();
        }
        this.current?.next(message);
      },
      error: (error: unknown) => {
        this.done = { error };
        this.current?.error(error);
      },
      complete: () => {
        this.done = { complete: true };
        this.current?.complete();
      },
    });
    return () => {
      if (this.current === subscriber) this.current = undefined;
    };
  });

  /** The call can no longer be retried (it committed): forget the kept messages, keep no more. */
  release(): void {
    this.overflow = true;
    this.kept.length = 0;
  }

  /** Stops listening to the caller's stream (the call is over). */
  close(): void {
    this.source?.unsubscribe();
    this.kept.length = 0;
  }
}
