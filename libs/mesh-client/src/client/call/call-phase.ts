/** Where a call is, for the message of a deadline that passed there. */
export type CallPhase = 'starting' | 'metadata' | 'plugins' | 'queued' | 'attempts';

/** The words for each phase, in "the deadline passed <where>". */
export const WHERE: Record<CallPhase, string> = {
  starting: 'before it started',
  metadata: "while the client's metadata function ran",
  plugins: "while the plugins' intercept held it",
  queued: 'while it waited for a concurrency permit (nothing was sent)',
  attempts: 'during its attempts',
};

/** How long an intercepting plugin may take to hand on the deadline's error before the call fails without it. */
export const DEADLINE_GRACE_MS = 20;
