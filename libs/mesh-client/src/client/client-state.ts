import { resolvePatch } from '../options/resolve-options.js';
import type { MeshClientPatch } from '../config/mesh-client-options.interface.js';
import type { TlsMaterial } from '../config/policies.js';
import type { ResolvedClientOptions } from '../config/resolved-options.interface.js';
import type { ChannelPool, ChannelSet } from './channels/channel-pool.js';
import type { MethodInfo } from '../proto/method-table.js';
import { clientPolicy, type ClientDeps, type ClientPolicy } from './client-policy.js';

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

  /** A validated patch becomes the policy of calls started from now on (throws MeshConfigError). */
  update(patch: MeshClientPatch): void {
    const before = this.current.options;
    this.current = clientPolicy(resolvePatch(before, patch), this.deps, this.methods, this.current);
    const after = this.current.options;
    if (after.target !== before.target || after.poolSize !== before.poolSize) this.channels.replace(this.makeChannels(after, this.material));
  }

  /** New TLS material: new calls go to new channels, calls in flight finish on the old ones. */
  reload(material: TlsMaterial): void {
    this.material = material;
    this.channels.replace(this.makeChannels(this.current.options, material));
  }
}
