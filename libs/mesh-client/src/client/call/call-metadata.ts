import { Metadata } from '@grpc/grpc-js';
import type { MetadataSource } from '../../config/mesh-client-options.interface.js';
import { InvalidMetadataError, addMetadata, metadataBytes } from '../../security/metadata.js';
import { putContext } from '../../security/context-metadata.js';
import type { MeshSecurityContext } from '../../config/security-context.interface.js';

/**
 * Builds each call's metadata, later sources replacing earlier ones key by key: the caller's
 * security context, the client's static entries (validated once, kept as a template), a metadata
 * function's entries, then the call's own. The total is checked against `maxBytes` (grpc-js does
 * not enforce a metadata limit on the client).
 *
 * A gateway sets a new context per request, so the context's entries are written into each call's
 * metadata directly (one check per value), not cached per context object.
 */
export class CallMetadata {
  private readonly template: Metadata | undefined;
  private readonly templateBytes: number = 0;
  /** Keys of the static entries: they win over the context's. */
  private readonly staticKeys: ReadonlySet<string> | undefined;
  private readonly dynamic: Exclude<MetadataSource, Record<string, string>> | undefined;

  constructor(
    source: MetadataSource | undefined,
    private readonly maxBytes: number,
    private readonly extraKeys: readonly string[] = [],
  ) {
    if (typeof source === 'function') this.dynamic = source;
    else if (source && Object.keys(source).length > 0) {
      this.template = new Metadata();
      this.templateBytes = addMetadata(this.template, source);
      this.staticKeys = new Set(Object.keys(source));
    }
  }

  /** True when building needs the caller's context (and may be asynchronous). */
  get isDynamic(): boolean {
    return this.dynamic !== undefined;
  }

  /** Entries of the metadata function, if any (may be a promise). */
  dynamicEntries(ctx: MeshSecurityContext | undefined): Record<string, string> | Promise<Record<string, string>> | undefined {
    return this.dynamic?.(ctx);
  }

  /** A fresh Metadata for one call. Throws InvalidMetadataError for a bad entry or too much. */
  build(
    security: MeshSecurityContext | undefined,
    dynamic: Readonly<Record<string, string>> | undefined,
    own: Readonly<Record<string, string | Buffer>> | Metadata | undefined,
  ): Metadata {
    const metadata = this.template ? this.template.clone() : new Metadata();
    let bytes = this.templateBytes;
    if (security) bytes += putContext(metadata, security, this.extraKeys, this.staticKeys);
    if (dynamic) bytes += addMetadata(metadata, dynamic);
    if (own) bytes += addMetadata(metadata, own);
    // the sum of the sources counts a replaced entry twice: over the limit, what is sent is measured
    if (bytes > this.maxBytes && (bytes = metadataBytes(metadata)) > this.maxBytes) {
      throw new InvalidMetadataError(`metadata of ${String(bytes)} bytes is over the limit of ${String(this.maxBytes)} (maxMetadataBytes)`);
    }
    return metadata;
  }
}
