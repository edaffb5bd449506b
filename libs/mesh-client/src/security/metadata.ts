import type { Metadata } from '@grpc/grpc-js';

const KEY = /^[0-9a-z_.-]+$/;
const PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * Why a metadata entry cannot be sent, or undefined when it can. The message names the key only:
 * values may be secrets (tokens) and never appear in an error.
 */
export function metadataProblem(key: string, value: unknown): string | undefined {
  if (!KEY.test(key)) return `metadata key '${key.slice(0, 64)}' is invalid: keys are lowercase letters, digits, '_', '-' and '.'`;
  if (key.startsWith('grpc-')) return `metadata key '${key}' is reserved for gRPC itself`;
  const binary = key.endsWith('-bin');
  if (binary) {
    return Buffer.isBuffer(value) || typeof value === 'string' ? undefined : `metadata '${key}' must be a Buffer or a string`;
  }
  if (Buffer.isBuffer(value)) return `metadata '${key}' has a Buffer value: binary values need a key ending in '-bin'`;
  if (typeof value !== 'string') return `metadata '${key}' must have a string value`;
  if (!PRINTABLE.test(value)) return `metadata '${key}' has a value with characters gRPC cannot send (printable ASCII only; use a '-bin' key for binary data)`;
  if (value !== value.trim()) return `metadata '${key}' has a value with leading or trailing spaces, which HTTP/2 does not carry`;
  return undefined;
}

/** Thrown by {@link addMetadata}; carries a message safe to show (no values). */
export class InvalidMetadataError extends Error {
  override readonly name = 'InvalidMetadataError';
}

/**
 * Sets entries on `target` (a later source replaces an earlier one's value for the same key),
 * validating each; throws {@link InvalidMetadataError} on the first bad one. Returns the bytes
 * added (keys + values), for the size limit.
 */
export function addMetadata(target: Metadata, entries: Readonly<Record<string, string | Buffer>>): number {
  let bytes = 0;
  for (const key in entries) {
    const value = entries[key];
    const problem = metadataProblem(key, value);
    if (problem) throw new InvalidMetadataError(problem);
    const wire = key.endsWith('-bin') && typeof value === 'string' ? Buffer.from(value) : (value as string | Buffer);
    target.set(key, wire);
    bytes += key.length + wire.length;
  }
  return bytes;
}
