import { Metadata } from '@grpc/grpc-js';
import type { MetadataSource } from '../module/mesh-client-options.interface.js';
import { addMetadata } from '../security/metadata.js';
import type { MeshSecurityContext } from '../security/security-context.interface.js';

/**
 * Builds each call's metadata: the client's static entries (validated once, kept as a template),
 * then the dynamic ones of a metadata function, then the call's own. Later entries are appended.
 */
export class CallMetadata {
  private readonly template: Metadata | undefined;
  private readonly dynamic: Exclude<MetadataSource, Record<string, string>> | undefined;

  constructor(source: MetadataSource | undefined) {
    if (typeof source === 'function') this.dynamic = source;
    else if (source && Object.keys(source).length > 0) {
      this.template = new Metadata();
      addMetadata(this.template, source);
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

  /** A fresh Metadata for one call. Throws InvalidMetadataError for a bad entry. */
  build(dynamic: Record<string, string> | undefined, own: Readonly<Record<string, string | Buffer>> | undefined): Metadata {
    const metadata = this.template ? this.template.clone() : new Metadata();
    if (dynamic) addMetadata(metadata, dynamic);
    if (own) addMetadata(metadata, own);
    return metadata;
  }
}
