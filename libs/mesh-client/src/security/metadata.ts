import type { Metadata } from '@grpc/grpc-js';
import { METADATA_KEY as KEY, TRANSPORT_HEADERS } from '../config/metadata-keys.js';
import { MIN_MASKED } from '../errors/describe-thrown.js';

/**
 * The key a hedged call's copies carry to the client's round-robin picker, which takes it off
 * before the wire (client/channels/spread-round-robin.ts): reserved, a call cannot set it.
 */
export const SPREAD_KEY = 'x-datapunk-spread';
const PRINTABLE = /^[\x20-\x7e]*$/;

/**
 * Why a metadata entry cannot be sent, or undefined when it can. The message names the key only:
 * values may be secrets (tokens) and never appear in an error.
 */
export function metadataProblem(key: string, value: unknown): string | undefined {
  if (!KEY.test(key)) return `metadata key '${key.slice(0, 64)}' is invalid: keys are lowercase letters, digits, '_', '-' and '.'`;
  if (key.startsWith('grpc-')) return `metadata key '${key}' is reserved for gRPC itself`;
  if (key === SPREAD_KEY) return `metadata key '${key}' is reserved for the mesh client's load balancing`;
  if (TRANSPORT_HEADERS.has(key)) return `metadata key '${key}' is an HTTP/2 or gRPC transport header, which a call cannot set`;
  // grpc-js writes headers into a plain object, where this key sets the prototype: it would vanish.
  if (key === '__proto__') return "metadata key '__proto__' cannot be sent (HTTP/2 headers are built in a plain object, which drops it)";
  const binary = key.endsWith('-bin');
  if (binary) {
    return Buffer.isBuffer(value) || typeof value === 'string' ? undefined : `metadata '${key}' must be a Buffer or a string`;
  }
  if (Buffer.isBuffer(value)) return `metadata '${key}' has a Buffer value: binary values need a key ending in '-bin'`;
  if (typeof value !== 'string') return `metadata '${key}' must have a string value`;
  if (!PRINTABLE.test(value))
    return `metadata '${key}' has a value with characters gRPC cannot send (printable ASCII only; use a '-bin' key for binary data)`;
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
export function addMetadata(target: Metadata, entries: Readonly<Record<string, string | Buffer>> | Metadata): number {
  if (isGrpcMetadata(entries)) return addGrpcMetadata(target, entries);
  let bytes = 0;
  for (const key in entries) bytes += put(target, key, entries[key], 'set');
  return bytes;
}

function put(target: Metadata, key: string, value: unknown, how: 'set' | 'add'): number {
  const problem = metadataProblem(key, value);
  if (problem) throw new InvalidMetadataError(problem);
  const wire = key.endsWith('-bin') && typeof value === 'string' ? Buffer.from(value) : (value as string | Buffer);
  target[how](key, wire);
  return key.length + wire.length;
}

/** Entries of a grpc-js Metadata (every value of a repeated key), under the same rules. */
function addGrpcMetadata(target: Metadata, source: Metadata): number {
  let bytes = 0;
  const all = source.toJSON() as Record<string, unknown[]>;
  for (const key in all) {
    const values = all[key]!;
    values.forEach((value, i) => (bytes += put(target, key, value, i === 0 ? 'set' : 'add')));
  }
  return bytes;
}

/**
 * The bytes of `metadata` as the size limit counts them: every key and value, repeated keys too,
 * but not the keys the library adds itself (`grpc-`, the spread key: no caller's check counted them).
 * A value grpc-js took that is no string nor Buffer (a number) counts as the text it is sent as.
 */
export function metadataBytes(metadata: Metadata): number {
  let bytes = 0;
  const all = metadata.toJSON() as Record<string, unknown[]>;
  for (const key in all) {
    if (key.startsWith('grpc-') || key === SPREAD_KEY) continue;
    for (const value of all[key]!) bytes += key.length + (Buffer.isBuffer(value) ? value.length : String(value).length);
  }
  return bytes;
}

/** A grpc-js Metadata, also one from another copy of grpc-js. */
export function isGrpcMetadata(value: unknown): value is Metadata {
  const m = value as Partial<Metadata> | null;
  return typeof m === 'object' && m !== null && typeof m.getMap === 'function' && typeof m.toJSON === 'function' && typeof m.clone === 'function';
}

/** Words of a metadata key (split at '-', '_', '.') that make its values credentials. */
const CREDENTIAL_WORDS = new Set([
  'authorization',
  'auth',
  'token',
  'secret',
  'password',
  'passwd',
  'cookie',
  'credential',
  'credentials',
  'signature',
  'jwt',
  'apikey',
]);
/** Words before 'key' that make it a credential (x-api-key, x-access-key; not x-idempotency-key). */
const KEY_OWNERS = new Set(['api', 'access', 'secret', 'private', 'auth', 'client', 'subscription']);

/** Whether the values of metadata key `key` are credentials: authorization, x-api-key, cookie, x-auth-token, x-client-secret, ... */
export function isCredentialKey(key: string): boolean {
  const words = key.toLowerCase().split(/[-_.]/);
  return words.some((word, i) => CREDENTIAL_WORDS.has(word) || (word === 'key' && (i === 0 || KEY_OWNERS.has(words[i - 1]!))));
}

/**
 * The text values of `metadata` under credential keys (every value of a repeated key, a binary one
 * as text), each with the parts user code may quote alone: the credential after an auth scheme
 * (`Bearer <jwt>`), each cookie's value, and their JSON-escaped forms. Masked wherever user code
 * quotes them.
 */
export function credentialValues(metadata: Metadata | undefined): string[] {
  const values: string[] = [];
  if (!metadata) return values;
  for (const [key, list] of Object.entries(metadata.toJSON()))
    if (isCredentialKey(key)) for (const value of list) withParts(values, typeof value === 'string' ? value : value.toString('utf8'));
  return values;
}

/** The binary values (`-bin` keys) of `metadata` under credential keys, as bytes: a server may echo them as they were. */
export function credentialBytes(metadata: Metadata): Buffer[] {
  const bytes: Buffer[] = [];
  for (const [key, list] of Object.entries(metadata.toJSON()))
    if (isCredentialKey(key)) for (const value of list) if (Buffer.isBuffer(value)) bytes.push(value);
  return bytes;
}

function withParts(values: string[], text: string): void {
  const parts = [text];
  const scheme = /^[A-Za-z][\w.+-]* +(\S.*)$/s.exec(text);
  if (scheme) parts.push(scheme[1]!);
  if (text.includes('=')) for (const pair of text.split(';')) parts.push(pair.slice(pair.indexOf('=') + 1).trim());
  for (const part of parts) {
    if (part.length < MIN_MASKED) continue; // (too short to mask: withoutSecret passes over them)
    values.push(part);
    const escaped = JSON.stringify(part).slice(1, -1);
    if (escaped !== part) values.push(escaped);
  }
}
