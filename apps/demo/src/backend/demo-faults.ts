import { Injectable } from '@nestjs/common';

/**
 * What the demo backend is told to do wrong, and what it saw: the tour steers it from the same
 * process to show what the mesh client does about it.
 */
@Injectable()
export class DemoFaults {
  /** Every call fails with UNAVAILABLE (an outage). */
  outage = false;
  /** Request ids whose first attempt fails with UNAVAILABLE (`x-demo-fail-once`). */
  private readonly failedOnce = new Set<string>();
  /** The client identity (SAN) of the last call, as the backend's TLS saw it. */
  lastPeer: string | undefined;
  /** Remaining deadline of the last call when it arrived, ms. */
  lastDeadlineMs: number | undefined;

  /** True the first time `key` is seen. */
  firstTime(key: string): boolean {
    if (this.failedOnce.has(key)) return false;
    this.failedOnce.add(key);
    return true;
  }
}
