/** What decides a call's deadline, in order of precedence. */
export interface DeadlineInputs {
  /** Per-call timeout (CallOptions.timeoutMs). */
  callTimeoutMs?: number;
  /** Per-call absolute deadline (CallOptions.deadline). */
  callDeadline?: Date;
  /** Per-method timeout (methods[name].timeoutMs). */
  methodTimeoutMs?: number;
  /** Client timeout (timeoutMs, default 30 s). */
  clientTimeoutMs: number;
  /** Deadline of the incoming request being handled, if any (deadline propagation). */
  inheritedDeadline?: Date;
}

/**
 * The call's deadline as epoch milliseconds. The call's own `timeoutMs`/`deadline` replace the
 * method's and client's timeouts (the earlier of the two when both are given); an inherited deadline
 * only ever shortens it.
 */
export function resolveDeadline(now: number, inputs: DeadlineInputs): number {
  let deadline: number;
  if (inputs.callTimeoutMs !== undefined || inputs.callDeadline !== undefined) {
    deadline = Math.min(
      inputs.callTimeoutMs === undefined ? Infinity : now + inputs.callTimeoutMs,
      inputs.callDeadline === undefined ? Infinity : inputs.callDeadline.getTime(),
    );
  } else {
    deadline = now + (inputs.methodTimeoutMs ?? inputs.clientTimeoutMs);
  }
  return inputs.inheritedDeadline === undefined ? deadline : Math.min(deadline, inputs.inheritedDeadline.getTime());
}
