import type { RequestReplay } from './request-replay.js';
import type { RequestSource } from './request-source.js';

/**
 * The request streams of one client- or bidi-streaming call: the source of each stream its runs
 * read (one per stream, however many runs read it), and the replay its intercepting plugins see.
 * All let go of when the call ends.
 */
export class CallRequests {
  /** A pushing request stream taken for the call's intercepting plugins (they see its `view`). */
  replay: RequestReplay | undefined;
  private readonly sources = new Map<unknown, RequestSource>();

  /**
   * The source of request stream `requests`, made (by `make`) and started the first time a run
   * reads it: runs reading the same stream (a plugin's re-subscription) share what it kept.
   */
  sourceOf(requests: unknown, make: () => RequestSource): RequestSource {
    let source = this.sources.get(requests);
    if (source) return source;
    source = make();
    this.sources.set(requests, source);
    source.start();
    return source;
  }

  /** The call is over: every stream is let go of (never throws). */
  close(): void {
    for (const source of this.sources.values()) source.close();
    this.replay?.close();
  }
}
