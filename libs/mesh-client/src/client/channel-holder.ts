import type { Client } from '@grpc/grpc-js';

/** One channel and the attempts running on it. */
export interface ChannelLease {
  readonly client: Client;
  inflight: number;
  retired: boolean;
}

/**
 * The channel new attempts use, replaceable at run time (certificate reload): after `replace()`
 * new attempts go to the new channel, attempts in flight finish on the old one, which is closed
 * when its last attempt ends.
 */
export class ChannelHolder {
  private current: ChannelLease;
  private readonly retired = new Set<ChannelLease>();

  constructor(client: Client) {
    this.current = { client, inflight: 0, retired: false };
  }

  /** The channel for one attempt; give it back with `release()`. */
  acquire(): ChannelLease {
    const lease = this.current;
    lease.inflight++;
    return lease;
  }

  release(lease: ChannelLease): void {
    lease.inflight--;
    if (lease.retired && lease.inflight === 0) this.dispose(lease);
  }

  /** Sends new attempts to `client`; the old channel closes once idle. */
  replace(client: Client): void {
    const old = this.current;
    this.current = { client, inflight: 0, retired: false };
    old.retired = true;
    if (old.inflight === 0) this.dispose(old);
    else this.retired.add(old);
  }

  /** Closes every channel (attempts still running are cancelled by their owners first). */
  close(): void {
    this.current.client.close();
    for (const lease of this.retired) lease.client.close();
    this.retired.clear();
  }

  private dispose(lease: ChannelLease): void {
    this.retired.delete(lease);
    lease.client.close();
  }
}
