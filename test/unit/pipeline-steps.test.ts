import { status, type Metadata } from '@grpc/grpc-js';
import { Observable, type Subscriber } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { isMeshClientError, type MeshClientError } from '@datapunk/mesh-client';
import { CallMetadata } from '../../libs/mesh-client/src/client/call-metadata.js';
import type { MethodInfo } from '../../libs/mesh-client/src/client/method-table.js';
import { buildMetadata, callOutput, linkAbortSignal } from '../../libs/mesh-client/src/client/pipeline-steps.js';
import type { CallObservation } from '../../libs/mesh-client/src/observability/call-telemetry.js';

const site = { client: 'inventory', service: 'shop.Inventory', method: 'Get', maxMessageBytes: 4 << 20 };
const method = { site } as MethodInfo;

/** A live subscriber, and what reached its observer. */
function subscriberOf<T>(seen: string[] = []): { subscriber: Subscriber<T>; seen: string[]; unsubscribe: () => void } {
  let subscriber!: Subscriber<T>;
  const subscription = new Observable<T>((s) => {
    subscriber = s;
  }).subscribe({
    next: (v) => seen.push(`next ${String(v)}`),
    error: (e: MeshClientError) => seen.push(`error ${e.code}`),
    complete: () => seen.push('complete'),
  });
  return { subscriber, seen, unsubscribe: () => subscription.unsubscribe() };
}

/** Runs the metadata step, collecting what it started with or failed with. */
function metadataStep(source: CallMetadata, own?: Record<string, string>, closeFirst = false) {
  const { subscriber, unsubscribe } = subscriberOf();
  if (closeFirst) unsubscribe();
  const result: { metadata?: Metadata; error?: MeshClientError } = {};
  buildMetadata({
    source,
    security: { requestId: 'r-1', tenant: 'acme' },
    options: own ? { metadata: own } : undefined,
    method,
    subscriber,
    start: (m) => (result.metadata = m),
    fail: (e) => (result.error = e),
  });
  return result;
}

describe('pipeline step: metadata', () => {
  it('static entries: starts at once with the context, the client entries and the call entries', () => {
    const { metadata } = metadataStep(new CallMetadata({ 'x-client': 'c' }, 8192), { 'x-call': 'k' });
    expect(metadata?.get('x-request-id')).toEqual(['r-1']);
    expect(metadata?.get('x-tenant-id')).toEqual(['acme']);
    expect(metadata?.get('x-client')).toEqual(['c']);
    expect(metadata?.get('x-call')).toEqual(['k']);
  });

  it('a metadata function returning a promise starts the call when it settles, with its entries', async () => {
    const result = metadataStep(new CallMetadata(async (ctx) => ({ 'x-who': ctx?.tenant ?? 'none' }), 8192));
    expect(result.metadata).toBeUndefined();
    await new Promise((r) => setImmediate(r));
    expect(result.metadata?.get('x-who')).toEqual(['acme']);
  });

  it('a call left while its metadata function runs never starts', async () => {
    const result = metadataStep(new CallMetadata(async () => ({ 'x-who': 'late' }), 8192), undefined, true);
    await new Promise((r) => setImmediate(r));
    expect(result).toEqual({});
  });

  it('a metadata function that throws or rejects fails the call with INTERNAL, naming the reason', async () => {
    const thrown = metadataStep(
      new CallMetadata(() => {
        throw new Error('vault unreachable');
      }, 8192),
    );
    expect(thrown.error?.code).toBe(status.INTERNAL);
    expect(thrown.error?.message).toContain("the client's metadata function failed: vault unreachable");
    const rejected = metadataStep(new CallMetadata(() => Promise.reject(new Error('slow vault')), 8192));
    await new Promise((r) => setImmediate(r));
    expect(rejected.error?.details).toContain('slow vault');
    expect(rejected.metadata).toBeUndefined();
  });

  it("the call's own invalid metadata fails it as a caller fault naming the key, never retried", () => {
    const { error, metadata } = metadataStep(new CallMetadata(undefined, 8192), { 'Bad Key': 'v' });
    expect(metadata).toBeUndefined();
    expect(isMeshClientError(error)).toBe(true);
    expect(error?.code).toBe(status.INVALID_ARGUMENT);
    expect(error?.retryable).toBe(false);
    expect(error?.details).toContain('Bad Key');
  });
});

describe('pipeline step: output', () => {
  const observation = (log: string[]) =>
    ({ received: () => log.push('obs received'), end: (e?: unknown) => log.push(e ? 'obs end error' : 'obs end') }) as unknown as CallObservation;

  it('tells telemetry of each message and of the end before the caller hears of it', () => {
    const log: string[] = [];
    const { subscriber } = subscriberOf<number>(log);
    const { out, responseMetadata } = callOutput(subscriber, observation(log), undefined, site);
    out.next(1);
    out.complete();
    expect(log).toEqual(['obs received', 'next 1', 'obs end', 'complete']);
    expect(responseMetadata).toBeUndefined();
  });

  it('onHeader / onTrailer put the response-metadata listener between the attempts and the caller', () => {
    const { subscriber, seen } = subscriberOf<number>();
    const output = callOutput(subscriber, undefined, { onHeader: () => undefined }, site);
    expect(output.responseMetadata).toBe(output.out);
    expect(typeof output.extras?.listener).toBe('function');
    output.out.next(7);
    output.out.complete();
    expect(seen).toEqual(['next 7', 'complete']);
  });
});

describe('pipeline step: AbortSignal', () => {
  it('aborting aborts the call; after the call ends the signal is let go', () => {
    const reasons: string[] = [];
    const running = subscriberOf();
    const controller = new AbortController();
    linkAbortSignal(controller.signal, running.subscriber, (r) => reasons.push(r));
    controller.abort();
    expect(reasons).toEqual(["aborted by the caller's AbortSignal"]);

    const ended = subscriberOf();
    const later = new AbortController();
    linkAbortSignal(later.signal, ended.subscriber, (r) => reasons.push(r));
    ended.unsubscribe();
    later.abort();
    expect(reasons).toHaveLength(1);
  });
});
