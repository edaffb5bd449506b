import type { Metadata } from '@grpc/grpc-js';
import type { Observer } from 'rxjs';
import { describeThrown } from '../errors/describe-thrown.js';
import { isMeshClientError } from '../errors/mesh-client.error.js';
import { callerError, type CallSite } from '../errors/to-mesh-error.js';
import type { AttemptListener } from './attempts.js';
import type { CallOptions } from './call-options.interface.js';

/**
 * `CallOptions.onHeader` / `onTrailer`: the response headers and trailers of the attempt whose
 * outcome the caller gets. Headers are handed over just before the first response (or the end),
 * trailers just before the call ends, on success and on failure. A callback that throws fails the
 * call ('invalid-request', the caller's own code).
 */
export class ResponseMetadata<T> implements Observer<T> {
  private headers: Metadata | undefined;
  private trailers: Metadata | undefined;
  private headerGiven = false;
  private readonly listening: AttemptListener;

  constructor(
    private readonly out: Observer<T>,
    private readonly options: Pick<CallOptions, 'onHeader' | 'onTrailer'>,
    private readonly site: CallSite,
  ) {
    this.listening = {
      headers: options.onHeader
        ? (headers) => {
            this.headers = headers;
            return undefined;
          }
        : undefined,
      status: options.onTrailer ? (status) => void (this.trailers = status.metadata) : undefined,
    };
  }

  /** The listener of attempt `n` (a new attempt forgets the last one's). */
  listener(): AttemptListener {
    this.forget();
    return this.listening;
  }

  /** No attempt's outcome reaches the caller (e.g. a breaker rejection). */
  forget(): void {
    this.headers = undefined;
    this.trailers = undefined;
  }

  next(value: T): void {
    if (this.giveHeader()) this.out.next(value);
  }

  error(error: unknown): void {
    const trailers = isMeshClientError(error) && error.trailers ? error.trailers : undefined;
    if (!this.giveHeader() || (trailers && !this.give('onTrailer', trailers))) return;
    this.out.error(error);
  }

  complete(): void {
    if (!this.giveHeader() || (this.trailers && !this.give('onTrailer', this.trailers))) return;
    this.out.complete();
  }

  private giveHeader(): boolean {
    if (this.headerGiven || !this.headers) return true;
    this.headerGiven = true;
    return this.give('onHeader', this.headers);
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
