import { connectivityState as State, experimental, type ChannelOptions } from '@grpc/grpc-js';
import { SPREAD_KEY } from '../../security/metadata.js';
import { SPREADS_OPTION, isSpreadLookup, type SpreadLookup } from './spreads.js';

type ChannelControlHelper = experimental.ChannelControlHelper;
type Endpoint = experimental.Endpoint;
type LeafLoadBalancer = experimental.LeafLoadBalancer;
type LoadBalancer = experimental.LoadBalancer;
type Picker = experimental.Picker;
type PickArgs = experimental.PickArgs;
type PickResult = experimental.PickResult;
type StatusOr<T> = experimental.StatusOr<T>;
type TypedLoadBalancingConfig = experimental.TypedLoadBalancingConfig;

/** The policy's name in a service config's `loadBalancingConfig`. */
export const SPREAD_ROUND_ROBIN = 'datapunk_spread_round_robin';

class SpreadConfig implements TypedLoadBalancingConfig {
  getLoadBalancerName(): string {
    return SPREAD_ROUND_ROBIN;
  }

  toJsonObject(): object {
    return { [SPREAD_ROUND_ROBIN]: {} };
  }

  static createFromJson(): SpreadConfig {
    return new SpreadConfig();
  }
}

interface Child {
  /** The endpoint's addresses, as a spread notes it. */
  readonly key: string;
  readonly picker: Picker;
}

const keyOf = (endpoint: Endpoint): string => endpoint.addresses.map((a) => experimental.subchannelAddressToString(a)).join(' ');

/**
 * Round robin over the ready endpoints, as grpc-js's own, except for a hedged call's copies (they
 * carry a spread): the first takes its turn, each later one goes to the next endpoint none of the
 * call's copies holds, and does not move the rotation. First attempts then take one turn each, as
 * a plain client's calls do; with grpc-js's round_robin a hedged call took two turns, its copies
 * could meet on one endpoint, and sequential first attempts locked onto a slow endpoint (each of
 * its calls was hedged, each fast one not).
 */
class SpreadPicker implements Picker {
  constructor(
    private readonly children: readonly Child[],
    private next: number,
    private readonly spreads: SpreadLookup | undefined,
  ) {}

  pick(args: PickArgs): PickResult {
    const token = args.metadata.get(SPREAD_KEY);
    if (token.length === 0) return this.turn().picker.pick(args);
    // (grpc-js hands the picker a copy of the metadata per pick: the one it sends)
    args.metadata.remove(SPREAD_KEY);
    const spread = this.spreads?.get(String(token[0]));
    if (!spread) return this.turn().picker.pick(args);
    const child = spread.picked.size === 0 ? this.turn() : this.elsewhere(spread.picked);
    spread.picked.add(child.key);
    return child.picker.pick(args);
  }

  /** The next endpoint in the rotation, which moves on. */
  private turn(): Child {
    const child = this.children[this.next]!;
    this.next = (this.next + 1) % this.children.length;
    return child;
  }

  /** The next endpoint in the rotation that is not among `picked` (the rotation stays). */
  private elsewhere(picked: ReadonlySet<string>): Child {
    for (let k = 0; k < this.children.length; k++) {
      const child = this.children[(this.next + k) % this.children.length]!;
      if (!picked.has(child.key)) return child;
    }
    return this.children[this.next]!;
  }

  /** The key of the endpoint the next first attempt goes to (kept when the ready set changes). */
  peekNext(): string {
    return this.children[this.next]!.key;
  }
}

/**
 * The load balancer: one grpc-js LeafLoadBalancer (pick_first) per endpoint, every endpoint kept
 * connected, the channel's state from theirs; grpc-js's round_robin, with SpreadPicker as the picker.
 */
class SpreadRoundRobin implements LoadBalancer {
  private children: LeafLoadBalancer[] = [];
  private state: State = State.IDLE;
  private readyPicker: SpreadPicker | undefined;
  /** The client's hedged calls (a channel option), for their copies' picks. */
  private spreads: SpreadLookup | undefined;
  private paused = false;
  private lastError: string | null = null;
  private readonly childHelper: ChannelControlHelper;

  constructor(private readonly helper: ChannelControlHelper) {
    this.childHelper = experimental.createChildChannelControlHelper(helper, {
      updateState: (childState, _picker, errorMessage) => {
        // connections dropped: resolve the name again (the resolver rate-limits)
        if (this.state === State.READY && childState !== State.READY) this.helper.requestReresolution();
        if (errorMessage) this.lastError = errorMessage;
        this.update();
      },
    });
  }

  updateAddressList(endpoints: StatusOr<Endpoint[]>, config: TypedLoadBalancingConfig, options: ChannelOptions, note: string): boolean {
    // by name: another copy of this library may have registered the policy (the last one wins)
    if (config.getLoadBalancerName() !== SPREAD_ROUND_ROBIN) return false;
    const spreads = options[SPREADS_OPTION] as unknown;
    this.spreads = isSpreadLookup(spreads) ? spreads : undefined;
    if (this.spreads) this.spreads.attached = true;
    if (!endpoints.ok) {
      if (this.children.length === 0)
        this.publish(State.TRANSIENT_FAILURE, new experimental.UnavailablePicker(endpoints.error), endpoints.error.details);
      return true;
    }
    // each channel starts its rotation somewhere else, as grpc-js's round_robin does
    const start = Math.floor(Math.random() * endpoints.value.length);
    const list = [...endpoints.value.slice(start), ...endpoints.value.slice(0, start)];
    this.destroyChildren();
    if (list.length === 0) {
      // calls fail UNAVAILABLE at once rather than wait in a queue for their deadline
      const details = `No addresses resolved. Resolution note: ${note}`;
      this.publish(State.TRANSIENT_FAILURE, new experimental.UnavailablePicker({ details }), details);
      return true;
    }
    this.paused = true;
    this.children = list.map((endpoint) => new experimental.LeafLoadBalancer(endpoint, this.childHelper, options, note));
    for (const child of this.children) child.startConnecting();
    this.paused = false;
    this.update();
    return true;
  }

  exitIdle(): void {
    // idle only without addresses: nothing to do
  }

  resetBackoff(): void {
    // no backoff of its own
  }

  destroy(): void {
    this.destroyChildren();
  }

  getTypeName(): string {
    return SPREAD_ROUND_ROBIN;
  }

  private update(): void {
    if (this.paused) return;
    const ready = this.children.filter((c) => c.getConnectivityState() === State.READY);
    const any = (s: State): boolean => this.children.some((c) => c.getConnectivityState() === s);
    if (ready.length > 0) {
      const children = ready.map((c) => ({ key: keyOf(c.getEndpoint()), picker: c.getPicker() }));
      const next = this.readyPicker?.peekNext();
      const index = Math.max(
        0,
        children.findIndex((c) => c.key === next),
      );
      this.publish(State.READY, new SpreadPicker(children, index, this.spreads), null);
    } else if (any(State.CONNECTING)) {
      this.publish(State.CONNECTING, new experimental.QueuePicker(this), null);
    } else if (any(State.TRANSIENT_FAILURE)) {
      const details = `round_robin: No connection established. Last error: ${String(this.lastError)}`;
      this.publish(State.TRANSIENT_FAILURE, new experimental.UnavailablePicker({ details }), details);
    } else {
      this.publish(State.IDLE, new experimental.QueuePicker(this), null);
    }
    // round robin keeps every endpoint connected
    for (const child of this.children) if (child.getConnectivityState() === State.IDLE) child.exitIdle();
  }

  private publish(state: State, picker: Picker, errorMessage: string | null): void {
    this.readyPicker = state === State.READY ? (picker as SpreadPicker) : undefined;
    this.state = state;
    this.helper.updateState(state, picker, errorMessage);
  }

  private destroyChildren(): void {
    for (const child of this.children) child.destroy();
    this.children = [];
  }
}

let registered = false;

/** Registers the policy with grpc-js (once per process). */
export function registerSpreadRoundRobin(): void {
  if (registered) return;
  registered = true;
  experimental.registerLoadBalancerType(SPREAD_ROUND_ROBIN, SpreadRoundRobin, SpreadConfig);
}
