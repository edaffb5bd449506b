import { inspect } from 'node:util';
import { Metadata, status } from '@grpc/grpc-js';
import { MeshClientError, isMeshClientError } from '@datapunk/mesh-client';
import { classifyStatus } from '@datapunk/mesh-client/advanced';

/** A MeshClientError as an attempt would deliver it, optionally with trailers. */
export function meshError(code: number, trailers: Record<string, string> = {}, attempts = 1): MeshClientError {
  const md = new Metadata();
  for (const [k, v] of Object.entries(trailers)) md.set(k, v);
  return new MeshClientError({ ...classifyStatus(code), code, attempts, client: 't', service: 's.S', method: 'M', details: 'x', trailers: md });
}

export const UNAVAILABLE = (): MeshClientError => meshError(status.UNAVAILABLE);

/** A deterministic source of [0, 1) values: the given ones in turn, repeated. */
export function sequence(...values: number[]): () => number {
  let i = 0;
  return () => values[i++ % values.length]!;
}

/** mulberry32: a seeded PRNG for reproducible "random" jitter. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** The MeshClientError a call's promise rejects with; fails the test if it resolves or rejects otherwise. */
export function failureOf(p: Promise<unknown>): Promise<MeshClientError> {
  return p.then(
    () => Promise.reject(new Error('expected the call to fail')),
    (e: unknown) => (isMeshClientError(e) ? e : Promise.reject(new Error(`expected a MeshClientError, got ${String(e)}`))),
  );
}

/**
 * Everything an error shows: its message, stack, causes and own fields, and how Node prints it
 * (`util.inspect`, as for an unhandled start-up error: with its `[cause]`).
 */
export function everythingOf(error: unknown): string {
  const parts: string[] = [inspect(error, { depth: 5 })];
  let e: unknown = error;
  for (let depth = 0; e !== undefined && e !== null && depth < 5; depth++) {
    parts.push(String(e));
    if (e instanceof Error) parts.push(e.message, e.stack ?? '');
    try {
      parts.push(JSON.stringify(e));
    } catch {
      // a cycle: the rest is covered by message and stack
    }
    e = (e as { cause?: unknown }).cause;
  }
  return parts.join('\n');
}
