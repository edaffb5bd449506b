import { ClsServiceManager } from 'nestjs-cls';
import { describe, expect, it } from 'vitest';
import type { MeshTrustedHeader } from '@datapunk/mesh-client';
import type { PendingRequest } from '../../libs/mesh-client/src/security/incoming-context-reader.js';
import { MeshContext, PENDING_REQUEST_KEY } from '../../libs/mesh-client/src/security/mesh-context.service.js';

const cls = ClsServiceManager.getClsService();

/** A request as the nestjs-cls plugin keeps it: its headers and when it was seen. */
function pending(headers: Record<string, string>, receivedAt = Date.now()): PendingRequest {
  return { read: (k) => headers[k], deadline: undefined, receivedAt };
}

/** Runs `fn` in a request scope where the plugin kept `request`, as a CLS initializer does. */
function inRequest<T>(request: PendingRequest, fn: () => T): T {
  return cls.run(() => {
    cls.set(PENDING_REQUEST_KEY, request);
    return fn();
  });
}

const HEADERS = { authorization: 'Bearer t0k', 'x-tenant-id': 'acme', 'x-request-id': 'req-9', 'x-team': 'blue', 'x-floor': '7' };
/** These tests read the token and tenant too: opted in (the default trusts neither). */
const ALL: MeshTrustedHeader[] = ['traceparent', 'requestId', 'deadline', 'token', 'tenant'];

describe('MeshContext reads the request the CLS plugin kept', () => {
  it("with its own application's contextExtraKeys (two apps read one request each their own way)", () => {
    const teams = new MeshContext(cls, ['x-team'], ALL);
    const floors = new MeshContext(cls, ['x-floor'], ALL);
    expect(inRequest(pending(HEADERS), () => teams.get())).toEqual({ token: 't0k', tenant: 'acme', requestId: 'req-9', extra: { 'x-team': 'blue' } });
    expect(inRequest(pending(HEADERS), () => floors.get())).toEqual({ token: 't0k', tenant: 'acme', requestId: 'req-9', extra: { 'x-floor': '7' } });
  });

  it('once: later reads return the same context object', () => {
    const context = new MeshContext(cls, [], ALL);
    inRequest(pending(HEADERS), () => {
      const first = context.callContext();
      expect(first?.security?.token).toBe('t0k');
      expect(context.callContext()).toBe(first);
    });
  });

  it('a grpc-timeout counts from when the request was seen, not from the first read', () => {
    const seenAt = Date.now() - 5_000;
    const deadline = inRequest(pending({ 'grpc-timeout': '8S' }, seenAt), () => new MeshContext(cls).get()?.deadline);
    expect(deadline?.getTime()).toBe(seenAt + 8_000);
  });

  it('what the scope holds wins over the headers: set() before the first read, and set() after it', () => {
    const context = new MeshContext(cls, [], ALL);
    inRequest(pending(HEADERS), () => {
      context.set({ tenant: 'from-setup' });
      expect(context.get()).toMatchObject({ tenant: 'from-setup', token: 't0k', requestId: 'req-9' });
      context.set({ subject: 'alice' });
      expect(context.get()).toMatchObject({ tenant: 'from-setup', token: 't0k', subject: 'alice' });
    });
  });

  it("run() inside a request is a scope of its own: the request's headers do not go into it", () => {
    const context = new MeshContext(cls, ['x-team'], ALL);
    inRequest(pending(HEADERS), () => {
      expect(context.run({ requestId: 'job-1' }, () => context.get())).toEqual({ requestId: 'job-1' });
      expect(context.get()?.requestId).toBe('req-9');
    });
  });

  it("run() nested keeps what the outer scope holds and the handler's call options in a copy; the outer scope is untouched", () => {
    const context = new MeshContext(cls, [], ALL);
    inRequest(pending(HEADERS), () => {
      cls.set('app-key', 'kept');
      context.applyCallOptions({ timeoutMs: 1234 });
      const inner = context.run({ tenant: 'job' }, () => {
        cls.set('inner-only', 1);
        return { app: cls.get('app-key'), options: context.callContext()?.callOptions, security: context.get() };
      });
      expect(inner).toEqual({ app: 'kept', options: { timeoutMs: 1234 }, security: { tenant: 'job' } });
      expect(cls.get('inner-only')).toBeUndefined();
      expect(context.get()).toMatchObject({ tenant: 'acme', requestId: 'req-9' });
    });
  });

  it('run() outside of any scope opens one for its work only', () => {
    const context = new MeshContext(cls, [], ALL);
    expect(context.run({ requestId: 'job-2' }, () => [context.inScope(), context.get(), context.callContext()?.callOptions])).toEqual([
      true,
      { requestId: 'job-2' },
      undefined,
    ]);
    expect(context.inScope()).toBe(false);
  });

  it('outside of a request: nothing, and no scope', () => {
    const context = new MeshContext(cls, [], ALL);
    expect(context.get()).toBeUndefined();
    expect(context.inScope()).toBe(false);
  });
});

describe('what incoming requests may fill (trustIncoming)', () => {
  const trace = `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`;

  it("by default: the trace context, a request id and the deadline; never the end user's token or a caller-supplied tenant", () => {
    const seenAt = Date.now();
    const headers = { ...HEADERS, traceparent: trace, 'grpc-timeout': '2S' };
    expect(inRequest(pending(headers, seenAt), () => new MeshContext(cls, []).get())).toEqual({
      requestId: 'req-9',
      traceparent: trace,
      deadline: new Date(seenAt + 2000),
    });
  });

  it('each part only when named: none at all takes nothing (not even a generated request id)', () => {
    const headers = { ...HEADERS, traceparent: trace, 'grpc-timeout': '2S' };
    expect(inRequest(pending(headers), () => new MeshContext(cls, [], []).get())).toEqual({});
    expect(inRequest(pending(headers), () => new MeshContext(cls, [], ['tenant']).get())).toEqual({ tenant: 'acme' });
    expect(inRequest(pending(headers), () => new MeshContext(cls, [], ['token']).get())).toEqual({ token: 't0k' });
  });

  it('what the app sets itself after verifying it (a guard) travels, whatever is trusted', () => {
    const context = new MeshContext(cls, [], []);
    inRequest(pending(HEADERS), () => {
      context.set({ token: 'verified', tenant: 'from-claims' });
      expect(context.get()).toEqual({ token: 'verified', tenant: 'from-claims' });
    });
  });
});
