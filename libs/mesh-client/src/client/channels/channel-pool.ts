import type { Client } from '@grpc/grpc-js';
import type { Spreads } from './spreads.js';
import type { TlsRefusalCheck } from '../../security/tls-refusal.js';

/** The channels of one client, built together from the same options and credentials. */
export interface ChannelSet {
  readonly clients: readonly Client[];
  /** The channels use TLS. */
  readonly tls?: boolean;
  /** Tells a server's refusal of the client certificate from other connection failures (TLS clients). */
  readonly tlsRefusal?: TlsRefusalCheck;
  /** The channels balance with spread-round-robin: a hedged call's copies go to distinct endpoints (SPREAD_KEY). */
  readonly spreads?: Spreads;
}

/** One channel and the attempts running on it. */
export interface ChannelLease {
  readonly client: Client;
  readonly tls: boolean;
  readonly tlsRefusal: TlsRefusalCheck | undefined;
  readonly spreads: Spreads | undefined;
  inflight: number;
  retired: boolean;
}

const leases = (set: ChannelSet): ChannelLease[] =>
  set.clients.map((client) => ({ client, tls: set.tls === true, tlsRefusal: set.tlsRefusal, spreads: set.spreads, inflight: 0, retired: false }));

/**
 * The channels new attempts use: one, or a pool of distinct HTTP/2 connections taken in turn.
 * Replaceable at run time (certificate reload, a new target or pool size): after `replace()` new
 * attempts go to the new channels, attempts in flight finish on the old ones, each of which is
 * closed when its last attempt ends.
 */
export class ChannelPool {
  private current: readonly ChannelLease[];
  private next = 0;
  private readonly retired = new Set<ChannelLease>();
  private closed = false;
  private readonly replaced: (() => void)[] = [];

  constructor(set: ChannelSet) {
    this.current = leases(set);
  }

  /** Channels in use for new attempts. */
  get size(): number {
    return this.current.length;
  }

  /** The grpc-js client of the first current channel (for raw grpc-js access). */
  get primary(): Client {
    return this.current[0]!.client;
  }

  /** A channel for one attempt, round-robin over the pool; give it back with `release()`. */
  acquire(): ChannelLease {
    const pool = this.current;
    const chosen = pool.length === 1 ? pool[0]! : pool[this.next++ % pool.length]!;
    chosen.inflight++;
    return chosen;
  }

  release(chosen: ChannelLease): void {
    chosen.inflight--;
    if (chosen.retired && chosen.inflight === 0) this.dispose(chosen);
  }

  /** `listener` is told after each replacement of the channels (long-lived streams move over). */
  onReplace(listener: () => void): void {
    this.replaced.push(listener);
  }

  /** Sends new attempts to the channels of `set`; the old channels close once idle. */
  replace(set: ChannelSet): void {
    if (this.closed) {
      // a late certificate reload (or update) after close: nothing may open a connection now
      for (const client of set.clients) client.close();
      return;
    }
    const old = this.current;
    this.current = leases(set);
    this.next = 0;
    for (const l of old) {
      l.retired = true;
      if (l.inflight === 0) this.dispose(l);
      else this.retired.add(l);
    }
    for (const listener of this.replaced) listener();
  }

  /** Closes every channel (attempts still running are cancelled by their owners first). */
  close(): void {
    this.closed = true;
    for (const l of this.current) closeLease(l);
    for (const l of this.retired) closeLease(l);
    this.retired.clear();
  }

  private dispose(l: ChannelLease): void {
    this.retired.delete(l);
    closeLease(l);
  }
}

/** A channel and its TLS refusal probe (one under way ends now): no socket or timer stays. */
function closeLease(l: ChannelLease): void {
  l.client.close();
  l.tlsRefusal?.close();
}
