import type { Metadata } from '@grpc/grpc-js';
import type { MeshAttempt, MeshCall } from '../../config/mesh-plugin.interface.js';
import { noteMetadata } from '../../errors/call-secrets.js';

/** Where an attempt's metadata comes from (the call's run): a copy made for attempt `n`, kept for its start. */
export interface AttemptMetadata {
  prepareMetadata(n: number): Metadata;
}

/**
 * An attempt as its hooks see it. Its metadata is copied when a hook first reads it (the copy the
 * hooks may change and the wire sends); an attempt no hook read before it started sends the
 * call's own, and a hook reading it later gets a copy of what was sent (a change then reaches no
 * other attempt).
 */
export class HookedAttempt implements MeshAttempt {
  private own: Metadata | undefined;
  private sentWith: Metadata | undefined;

  constructor(
    readonly call: MeshCall,
    readonly attempt: number,
    private readonly source: AttemptMetadata,
  ) {}

  get metadata(): Metadata {
    if (this.own) return this.own;
    this.own = this.sentWith ? this.sentWith.clone() : this.source.prepareMetadata(this.attempt);
    // what a hook puts there (its own x-api-key) is the call's secret from now on: read only when a failure is masked
    noteMetadata(this.call, this.own);
    return this.own;
  }

  /** The metadata the attempt went on the wire with (what a hook reading it later sees a copy of). */
  sent(metadata: Metadata): void {
    if (!this.own) this.sentWith = metadata;
  }
}
