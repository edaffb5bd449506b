import { resolvePatch } from '../options/resolve-options.js';
import type { MeshClientPatch } from '../config/mesh-client-options.interface.js';
import type { TlsMaterial } from '../config/policies.js';
import type { ResolvedClientOptions } from '../config/resolved-options.interface.js';
import type { ChannelPool, ChannelSet } from './channels/channel-pool.js';
import type { MethodInfo } from '../proto/method-table.js';
import { clientPolicy, retireReplaced, type ClientDeps, type ClientPolicy } from './client-policy.js';
import { MeshConfigError, isMeshConfigError } from '../errors/mesh-config.error.js';
import { describeThrown } from '../errors/describe-thrown.js';

/**
 * What changes in a client while it lives: its policy (replaced whole by `update()`, so calls in
 * flight keep theirs) and its channels (replaced on a new target or pool size, or new TLS files).
 */
export class ClientState {
  private current: ClientPolicy;

  constructor(
    options: ResolvedClientOptions,
    private readonly deps: ClientDeps,
    private readonly methods: ReadonlyMap<string, MethodInfo>,
    readonly channels: ChannelPool,
    private material: TlsMaterial | undefined,
    private readonly makeChannels: (options: ResolvedClientOptions, material: TlsMaterial | undefined) => ChannelSet,
  ) {
    this.current = clientPolicy(options, deps, methods);
  }

  get policy(): ClientPolicy {
    return this.current;
  }

  get options(): ResolvedClientOptions {
    return this.current.options;
  }

  /**
   * A validated patch becomes the policy of calls started from now on. All or nothing: a patch
   * refused (MeshConfigError), or whose channels cannot be made, leaves the client as it was.
   */
  update(patch: MeshClientPatch): void {
    const previous = this.current;
    const before = previous.options;
    const next = clientPolicy(resolvePatch(before, patch), this.deps, this.methods, previous);
    const after = next.options;
    const channels = after.target !== before.target || after.poolSize !== before.poolSize ? this.channelsFor(after) : undefined;
    this.current = next;
    if (channels) this.channels.replace(channels);
    retireReplaced(previous, next, this.deps);
  }

  /** Channels for `options` (grpc-js may refuse a target the option check let through: then a MeshConfigError). */
  private channelsFor(options: ResolvedClientOptions): ChannelSet {
    try {
      return this.makeChannels(options, this.material);
    } catch (error) {
      if (isMeshConfigError(error)) throw error;
      throw new MeshConfigError(`update(): no channel could be made for target '${options.target}': ${describeThrown(error)}`, { cause: error });
    }
  }

  /**
   * New TLS material: new calls go to new channels, calls in flight finish on the old ones. When no
   * channel can be made with it, this throws and the client keeps its material and channels.
   */
  reload(material: TlsMaterial): void {
    const channels = this.makeChannels(this.current.options, material);
    this.material = material;
    try {
      this.channels.replace(channels);
    } catch {
      // a listener of the replacement (tracing, a health Watch) failed: the new channels are in use all the same
    }
  }
}
