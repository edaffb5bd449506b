import type { Metadata } from '@grpc/grpc-js';
import { watchUnawaited } from '../../config/promise-like.js';
import { describeThrown } from '../../errors/describe-thrown.js';
import { safeText } from '../../errors/safe-text.js';
import type { MeshClientError } from '../../errors/mesh-client.error.js';
import { callerError, type CallSite } from '../../errors/to-mesh-error.js';
import type { CallOptions } from '../../config/call-options.interface.js';

/** What an attempt received of response metadata (its wire). */
interface Received {
  readonly headers: Metadata | undefined;
  readonly trailers: Metadata | undefined;
}

/**
 * `CallOptions.onHeader` / `onTrailer`: the response headers and trailers of the attempt whose
 * outcome the caller gets (the one that answered, among retries or hedged copies). Headers are
 * handed over just before the first response (or the end), trailers just before the call ends,
 * on success and on failure. A callback that throws fails the call ('invalid-request', the
 * caller's own code); a Promise it returns is not awaited, and its rejection is logged as a warning.
 */
export class ResponseMetadata {
  private readonly attempts: (Received | undefined)[] = [];
  private headerGiven = false;

  constructor(
    private readonly options: Pick<CallOptions, 'onHeader' | 'onTrailer'>,
    private readonly site: CallSite,
    /** Where a callback's rejected Promise is reported (the callbacks are not awaited). */
    private readonly logger: { warn(message: string): void } | undefined,
  ) {}

  /** Keeps what attempt `n` receives. */
  note(n: number, received: Received): void {
    this.attempts[n] = received;
  }

  /** Before a response of attempt `n` goes out: the header callback, once; its failure, if it threw. */
  beforeValue(n: number): MeshClientError | undefined {
    return this.giveHeader(this.attempts[n]);
  }

  /** The call's outcome once the callbacks saw attempt `n`'s metadata (0: no attempt answered). */
  atEnd(error: MeshClientError | undefined, n: number): MeshClientError | undefined {
    const received = n > 0 ? this.attempts[n] : undefined;
    if (!received) return error;
    const problem = this.giveHeader(received);
    if (problem) return problem;
    const trailers = error?.trailers ?? received.trailers;
    if (!trailers || !this.options.onTrailer) return error;
    return this.callback('onTrailer', trailers) ?? error;
  }

  private giveHeader(received: Received | undefined): MeshClientError | undefined {
    if (this.headerGiven || !this.options.onHeader || !received?.headers) return undefined;
    this.headerGiven = true;
    return this.callback('onHeader', received.headers);
  }

  private callback(name: 'onHeader' | 'onTrailer', metadata: Metadata): MeshClientError | undefined {
    try {
      const answer: unknown = this.options[name]!(metadata);
      if (answer !== undefined) watchUnawaited(answer, (error) => this.late(name, error));
      return undefined;
    } catch (error) {
      return callerError(this.site, `the ${name} callback threw: ${describeThrown(error)}`, { cause: error });
    }
  }

  /** A callback's Promise rejected: the call's outcome is the caller's already, so a warning. */
  private late(name: 'onHeader' | 'onTrailer', error: unknown): void {
    const { client, service, method } = this.site;
    this.logger?.warn(
      `client '${client}': the ${name} callback of a call to ${service}/${method} failed (a Promise it returned rejected; it is not awaited): ${safeText(describeThrown(error), 300)}`,
    );
  }
}
