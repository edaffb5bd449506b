import type { Metadata } from '@grpc/grpc-js';
import { MIN_MASKED, withoutSecret } from '../errors/describe-thrown.js';
import { credentialBytes, credentialValues } from './metadata.js';

interface StatusLike {
  code: number;
  details?: string;
  metadata?: Metadata;
}

/**
 * `status` with the credentials an attempt sent (`sent`: a token, an API key; see
 * credentialValues) masked as '[token]' where the server echoed them, in its details or its
 * trailers; `status` itself when it echoed none. The error made of it quotes the details, keeps the
 * trailers and the status as its cause, and a log line or `inspect(error)` would show them.
 */
export function withoutEchoedCredentials<S extends StatusLike>(status: S, sent: Metadata): S {
  const masked = credentialValues(sent).filter((s) => s.length >= MIN_MASKED);
  const bytes = credentialBytes(sent).filter((b) => b.length >= MIN_MASKED);
  if (masked.length === 0 && bytes.length === 0) return status;
  const details = typeof status.details === 'string' ? withoutSecret(status.details, masked) : status.details;
  const metadata = status.metadata ? withoutSecretValues(status.metadata, masked, bytes) : status.metadata;
  return details === status.details && metadata === status.metadata ? status : { ...status, details, metadata };
}

/**
 * A copy of `metadata` with the secrets in its text values masked and its binary values that hold
 * one dropped (bytes cannot be masked without breaking what they encode: a google.rpc.Status in
 * `grpc-status-details-bin` counts its lengths), or `metadata` itself when no value holds one.
 */
function withoutSecretValues(metadata: Metadata, secrets: readonly string[], bytes: readonly Buffer[]): Metadata {
  const holds = (v: Buffer): boolean => secrets.some((s) => v.includes(s)) || bytes.some((b) => v.includes(b));
  let copy: Metadata | undefined;
  for (const [key, values] of Object.entries(metadata.toJSON() as Record<string, (string | Buffer)[]>)) {
    const clean = values.map((v) => (typeof v === 'string' ? withoutSecret(v, secrets) : holds(v) ? undefined : v));
    if (clean.every((v, i) => v === values[i])) continue;
    copy ??= metadata.clone();
    copy.remove(key);
    for (const value of clean) if (value !== undefined) copy.add(key, value);
  }
  return copy ?? metadata;
}
