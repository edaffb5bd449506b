import type { Metadata } from '@grpc/grpc-js';
import { MIN_MASKED, withoutSecret } from './describe-thrown.js';

interface StatusLike {
  code: number;
  details?: string;
  metadata?: Metadata;
}

/**
 * `status` with `secrets` (the credentials its attempt sent: a token, an API key) masked as
 * '[token]' where the server echoed them, in its details or its trailers; `status` itself when it
 * echoed none. The error made of it quotes the details, keeps the trailers and the status as its
 * cause, and a log line or `inspect(error)` would show them.
 */
export function withoutEchoedSecrets<S extends StatusLike>(status: S, secrets: readonly string[]): S {
  const masked = secrets.filter((s) => s.length >= MIN_MASKED);
  if (masked.length === 0) return status;
  const details = typeof status.details === 'string' ? withoutSecret(status.details, masked) : status.details;
  const metadata = status.metadata ? withoutSecretValues(status.metadata, masked) : status.metadata;
  return details === status.details && metadata === status.metadata ? status : { ...status, details, metadata };
}

/**
 * A copy of `metadata` with the secrets in its text values masked and its binary values that hold
 * one dropped (bytes cannot be masked without breaking what they encode: a google.rpc.Status in
 * `grpc-status-details-bin` counts its lengths), or `metadata` itself when no value holds one.
 */
function withoutSecretValues(metadata: Metadata, secrets: readonly string[]): Metadata {
  let copy: Metadata | undefined;
  for (const [key, values] of Object.entries(metadata.toJSON() as Record<string, (string | Buffer)[]>)) {
    const clean = values.map((v) => (typeof v === 'string' ? withoutSecret(v, secrets) : secrets.some((s) => v.includes(s)) ? undefined : v));
    if (clean.every((v, i) => v === values[i])) continue;
    copy ??= metadata.clone();
    copy.remove(key);
    for (const value of clean) if (value !== undefined) copy.add(key, value);
  }
  return copy ?? metadata;
}
