import { Logger } from '@nestjs/common';
import type { MeshSecurityContext, MeshTrustedHeader } from '../config/security-context.interface.js';
import { incomingContext } from './incoming-context.js';
import type { RequestSource } from './request-headers.js';

/** Injection token of the `contextExtraKeys` a MeshContext reads from incoming requests. */
export const CONTEXT_EXTRA_KEYS = Symbol.for('@datapunk/mesh-client:context-extra-keys');

/** Injection token of the parts of the context a MeshContext takes from incoming requests (`trustIncoming`). */
export const CONTEXT_TRUSTED = Symbol.for('@datapunk/mesh-client:context-trusted');

/** An incoming request's source, as a CLS initializer saw it, and when. */
export interface PendingRequest extends RequestSource {
  /** Epoch ms when the request was seen (a `grpc-timeout` counts from here). */
  readonly receivedAt: number;
}

/**
 * Reads the context of an incoming request with one application's `contextExtraKeys` and
 * `trustIncoming`; what it does not take is logged at debug level, by key, never by value.
 */
export class IncomingContextReader {
  private readonly logger = new Logger('MeshContext');

  constructor(
    private readonly extraKeys: readonly string[],
    private readonly trusted?: readonly MeshTrustedHeader[],
  ) {}

  read(source: PendingRequest): MeshSecurityContext {
    const { context, refused } = incomingContext(source.read, source.receivedAt, source.deadline, this.extraKeys, this.trusted);
    if (refused.length > 0) {
      this.logger.debug(
        `incoming ${refused.join(', ')} not taken: not a value that may travel on (checked: printable ASCII, length; traceparent: W3C trace-context)`,
      );
    }
    return context;
  }
}
