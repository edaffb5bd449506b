/**
 * The policies the client runs with, after defaults and validation: what module/ resolves and
 * resilience/, security/ and client/ read. Types only.
 */

/** The backoff part of a retry policy. */
export interface BackoffPolicy {
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly backoffMultiplier: number;
  /** Fraction of spread: each wait is multiplied by random(1 - jitter, 1 + jitter). */
  readonly jitter: number;
}

/** gRFC A6 retry throttling settings. */
export interface RetryBudgetPolicy {
  readonly maxTokens: number;
  readonly tokenRatio: number;
}

/** A retry policy after defaults and validation. */
export interface ResolvedRetryPolicy extends BackoffPolicy {
  /** Attempts including the first, 1..5. */
  readonly maxAttempts: number;
  /** Status codes retried automatically. */
  readonly retryableCodes: ReadonlySet<number>;
  readonly budget: RetryBudgetPolicy | false;
  /** Deadline of each attempt, on top of the call's overall deadline. */
  readonly perAttemptTimeoutMs: number | undefined;
}

/** A breaker policy after defaults and validation. */
export interface ResolvedBreakerPolicy {
  readonly failureRateThreshold: number;
  readonly minimumCalls: number;
  readonly windowMs: number;
  readonly openMs: number;
  readonly halfOpenMaxCalls: number;
  readonly scope: 'client' | 'method';
  /** Second trip rule: open after this many counted failures in a row; undefined = off. */
  readonly consecutiveFailures: number | undefined;
}

/** A hedging policy after defaults and validation (gRFC A6). */
export interface ResolvedHedgingPolicy {
  /** Copies of the call at most, the first included, 2..5. */
  readonly maxAttempts: number;
  /** Wait before each further copy. */
  readonly delayMs: number;
  /** Codes after which hedging goes on (the next copy at once); any other code ends the call. */
  readonly nonFatalCodes: ReadonlySet<number>;
}

/** Bounds and start of an adaptive concurrency limit. */
export interface AdaptiveLimitPolicy {
  /** The limit once the latency floor is known. */
  readonly initial: number;
  /** Lowest limit, and the concurrency while the latency floor is measured. */
  readonly min: number;
  /** Highest limit. */
  readonly max: number;
}

/** A concurrency limit policy after defaults and validation. */
export interface ResolvedConcurrencyPolicy {
  /** A fixed limit, or the bounds of an adaptive one. */
  readonly limit: number | AdaptiveLimitPolicy;
  /** Calls that may wait for a permit; beyond, calls fail at once. */
  readonly maxQueue: number;
  /** Longest wait for a permit; undefined: the call's remaining deadline. */
  readonly queueTimeoutMs: number | undefined;
}

/**
 * How request field names are matched: 'exact' takes only the names the proto was loaded with
 * (the client loaded it, so those are the names serialization reads); 'either' also takes the
 * other spelling (proto name or its camelCase) and renames it, for definitions loaded elsewhere.
 */
export type FieldNaming = 'exact' | 'either';

/** PEM material of a client's TLS options, read and checked. */
export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer | null;
  readonly key: Buffer | null;
}

/** The xDS bootstrap an `xds:///` client uses, checked at start. */
export interface XdsBootstrap {
  /** Where it came from: 'xds.bootstrap', or the environment variable. */
  readonly source: string;
  /** The JSON text, normalised (compared between clients; installed when it came from the option). */
  readonly text: string;
  /** The first control plane server (`xds_servers[0].server_uri`). */
  readonly serverUri: string;
}
