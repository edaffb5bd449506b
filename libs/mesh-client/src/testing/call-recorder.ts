import type { FakeCall } from './fake.interface.js';

/** The calls a fake received, in arrival order. */
export class CallRecorder {
  private readonly recorded: FakeCall[] = [];

  /** Records `call` (a request stream's `requests` fill in as messages arrive). */
  record(call: FakeCall): void {
    this.recorded.push(call);
  }

  /** Calls of `rpc` (of every method without it), oldest first; a new array each time. */
  calls(rpc?: string): FakeCall[] {
    return rpc === undefined ? [...this.recorded] : this.recorded.filter((c) => c.method === rpc);
  }

  /** Forgets every recorded call. */
  clear(): void {
    this.recorded.length = 0;
  }
}
