import type { Metadata } from '@grpc/grpc-js';
import type { Observer } from 'rxjs';
import { describeThrown } from '../errors/describe-thrown.js';
import { isLocalFailure, isMeshClientError } from '../errors/mesh-client.error.js';
import { callerError, type CallSite } from '../errors/to-mesh-error.js';
import type { AttemptListener } from './attempts.js';
import type { CallOptions } from './call-options.interface.js';

/** What one attempt received. */
interface Received {
  headers: Metadata | undefined;
  trailers: Metadata | undefined;
  ok: boolean;
}

/**
 * `CallOptions.onHeader` / `onTrailer`: the response headers and trailers of the attempt whose
 * outcome the caller gets (the one that answered, among retries or hedged copies). Headers are
 * handed over just before the first response (or the end), trailers just before the call ends, on
 * success and on failure. A callback that throws fails the call ('invalid-request', the caller's
 * own code).
 */
export class ResponseMetadata<T> implements Observer<T> {
  private readonly received = new Map<number, Received>();
  private latest = 0;
  private headerGiven = false;

  constructor(
    private readonly out: Observer<T>,
    private readonly options: Pick<CallOptions, 'onHeader' | 'onTrailer'>,
    private readonly site: CallSite,
  ) {}

  /** The listener of attempt `n`. */
  listener(n: number): AttemptListener {
    const got: Received = { headers: undefined, trailers: undefined, ok: false };
    this.received.set(n, got);
    this.latest = Math.max(this.latest, n);
    return {
      headers: this.options.onHeader
        ? (headers) => {
            got.headers = headers;
            return undefined;
          }
        : undefined,
      status: (status) => {
        got.trailers = status.metadata;
        got.ok = status.code === 0;
      },
    };
  }

  next(value: T): void {
    if (this.giveHeader(this.answered())) this.out.next(value);
  }

  error(error: unknown): void {
    // a breaker rejection or a local failure is no attempt's outcome
    const own =
      isMeshClientError(error) && !isLocalFailure(error) && error.category !== 'circuit-open' ? this.received.get(error.attempts) : undefined;
    const trailers = isMeshClientError(error) && own ? (error.trailers ?? own.trailers) : undefined;
    if (!this.giveHeader(own) || (trailers && !this.give('onTrailer', trailers))) return;
    this.out.error(error);
  }

  complete(): void {
    const own = this.answered();
    if (!this.giveHeader(own) || (own?.trailers && !this.give('onTrailer', own.trailers))) return;
    this.out.complete();
  }

  /** The attempt that answered: the one that succeeded, else the latest (a stream's). */
  private answered(): Received | undefined {
    for (const got of this.received.values()) if (got.ok) return got;
    return this.received.get(this.latest);
  }

  private giveHeader(from: Received | undefined): boolean {
    if (this.headerGiven || !from?.headers) return true;
    this.headerGiven = true;
    return this.give('onHeader', from.headers);
  }

  private give(name: 'onHeader' | 'onTrailer', metadata: Metadata): boolean {
    const fn = this.options[name];
    if (!fn) return true;
    try {
      fn(metadata);
      return true;
    } catch (error) {
      this.out.error(callerError(this.site, `the ${name} callback threw: ${describeThrown(error)}`, { cause: error }));
      return false;
    }
  }
}
