import { randomBytes } from 'node:crypto';

/** The channel option that hands a client's Spreads to its channels' round-robin pickers. */
export const SPREADS_OPTION = 'datapunk.spreads';

/**
 * The copies of one hedged call: the endpoints they were sent to. Each copy carries the token
 * under SPREAD_KEY; the picker takes the key off what goes on the wire, sends the copy to an
 * endpoint none of the others holds, and notes it here.
 */
export class Spread {
  /** Keys of the endpoints the call's copies were picked for. */
  readonly picked = new Set<string>();

  constructor(
    readonly token: string,
    private readonly owner: Spreads,
  ) {}

  /** The call's run ended: its copies are no longer picked for. */
  close(): void {
    this.owner.closed(this);
  }
}

/** What a picker looks a copy's token up in (structural: another copy of the library's Spreads). */
export interface SpreadLookup {
  get(token: string): Spread | undefined;
  /** Set by the policy when it takes the channel: until then no copy carries a token. */
  attached: boolean;
}

/**
 * The hedged calls of one client's channels that are running now, by token. Tokens start with a
 * random tag of this object: a header that was not made here matches no spread.
 */
export class Spreads implements SpreadLookup {
  private readonly tag = randomBytes(9).toString('base64url');
  private sequence = 0;
  private readonly open = new Map<string, Spread>();
  /** The spread policy balances the client's channels (grpc-js took the service config). */
  attached = false;

  /** A spread for a hedged call's copies; `close` it when the call's run ends. */
  spread(): Spread {
    const spread = new Spread(`${this.tag}.${(this.sequence++).toString(36)}`, this);
    this.open.set(spread.token, spread);
    return spread;
  }

  get(token: string): Spread | undefined {
    return this.open.get(token);
  }

  closed(spread: Spread): void {
    this.open.delete(spread.token);
  }

  /** Hedged calls running now. */
  get size(): number {
    return this.open.size;
  }
}

export const isSpreadLookup = (value: unknown): value is SpreadLookup => typeof (value as SpreadLookup | undefined)?.get === 'function';
