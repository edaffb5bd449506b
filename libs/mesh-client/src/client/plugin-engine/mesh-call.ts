import type { Metadata } from '@grpc/grpc-js';
import type { MeshSecurityContext } from '../../config/security-context.interface.js';
import type { MeshCall, MeshMethodInfo } from '../../config/mesh-plugin.interface.js';

/** What every copy of one call shares: the count of its attempts (the call's record). */
export interface CallProgress {
  readonly attempts: number;
}

/** The MeshCall of one call; `with()` copies share its progress. */
export class MeshCallState implements MeshCall {
  private date: Date | undefined;

  constructor(
    readonly method: MeshMethodInfo,
    readonly request: unknown,
    readonly metadata: Metadata,
    /** The deadline, epoch ms (`deadline` is its Date, made when first read). */
    private readonly deadlineMs: number,
    readonly context: MeshSecurityContext | undefined,
    readonly progress: CallProgress,
  ) {}

  get deadline(): Date {
    return (this.date ??= new Date(this.deadlineMs));
  }

  get attempts(): number {
    return this.progress.attempts;
  }

  with(change: { request?: unknown }): MeshCall {
    const request = 'request' in change ? change.request : this.request;
    return new MeshCallState(this.method, request, this.metadata, this.deadlineMs, this.context, this.progress);
  }
}
