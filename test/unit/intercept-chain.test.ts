import { Observable, Subscriber, map, of, retry, type Observer, type Subscription, type Unsubscribable } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { subscribeIntercepted, type InnerCall } from '../../libs/mesh-client/src/client/plugin-engine/intercept-chain.js';
import { MeshCallState } from '../../libs/mesh-client/src/client/plugin-engine/mesh-call.js';
import { Metadata } from '@grpc/grpc-js';
import type { MeshCall, MeshClientPlugin } from '../../libs/mesh-client/src/config/mesh-plugin.interface.js';
import { isMeshClientError, type MeshClientError } from '../../libs/mesh-client/src/errors/mesh-client.error.js';
import { localError } from '../../libs/mesh-client/src/errors/to-mesh-error.js';

const site = { client: 'c', service: 's', method: 'Unary', maxMessageBytes: 1024 };
const info = Object.freeze({ client: 'c', service: 's', method: 'Unary', path: '/s/Unary', kind: 'unary' as const, idempotent: false });

function callOf(request: unknown): MeshCall {
  return new MeshCallState(info, request, new Metadata(), Date.now() + 1000, undefined, { attempts: 0 });
}

/** The rest of the call, as a stub: what it was called with, the observer it was handed, and its answer. */
function innerStub(answer: (call: MeshCall, observer: Observer<unknown>) => void = (c, o) => (o.next(c.request), o.complete())) {
  const seen: { call: MeshCall; observer: Observer<unknown> }[] = [];
  let left = 0;
  const inner: InnerCall = (call, observer): Unsubscribable => {
    seen.push({ call, observer });
    answer(call, observer);
    return { unsubscribe: () => void left++ };
  };
  return { inner, seen, left: () => left };
}

/** Subscribes through `plugins`: what reached the end. */
function run(plugins: MeshClientPlugin[], inner: InnerCall, request: unknown = { n: 1 }) {
  const out: { values: unknown[]; error?: unknown; completed: boolean } = { values: [], completed: false };
  const sub = subscribeIntercepted(plugins, callOf(request), site, inner, {
    next: (v) => out.values.push(v),
    error: (e: unknown) => (out.error = e),
    complete: () => (out.completed = true),
  });
  return { out, sub };
}

const passing = (name: string, change?: (call: MeshCall) => MeshCall): MeshClientPlugin => ({
  name,
  intercept: (call, next) => next.handle(change ? change(call) : call),
});

/** A plugin handing on the call wrapped so that reading `key` throws `message`. */
const handingOnThrowing = (name: string, key: keyof MeshCall, message: string): MeshClientPlugin => ({
  name,
  intercept: (call, next) =>
    next.handle(
      new Proxy(call, {
        get: (target, k) => {
          if (k === key) throw new Error(message);
          return Reflect.get(target, k) as unknown;
        },
      }),
    ),
});

describe('the intercept chain', () => {
  it('plugins that hand the call on as it is: the rest runs once, with the last change, and no RxJS subscriber between', () => {
    const stub = innerStub();
    const { out } = run([passing('a', (c) => c.with({ request: { n: 2 } })), passing('b')], stub.inner);
    expect(stub.seen).toHaveLength(1);
    expect(stub.seen[0]!.call.request).toEqual({ n: 2 });
    expect(stub.seen[0]!.observer).not.toBeInstanceOf(Subscriber);
    expect(out).toEqual({ values: [{ n: 2 }], completed: true });
  });

  it('a plugin that wraps the rest still gets it as an Observable: one subscription, one run', () => {
    const stub = innerStub();
    const wrapping: MeshClientPlugin = { name: 'w', intercept: (call, next) => next.handle(call).pipe(map((v) => ({ wrapped: v }))) };
    const { out } = run([passing('a'), wrapping, passing('b')], stub.inner);
    expect(stub.seen).toHaveLength(1);
    expect(stub.seen[0]!.observer).toBeInstanceOf(Subscriber);
    expect(out.values).toEqual([{ wrapped: { n: 1 } }]);
    expect(out.completed).toBe(true);
  });

  it('a failure other than a MeshClientError is named after the plugin whose Observable failed, the outer ones passing it on', () => {
    const failing: MeshClientPlugin = {
      name: 'mapper',
      intercept: (call, next) =>
        next.handle(call).pipe(
          map(() => {
            throw new Error('boom');
          }),
        ),
    };
    const { out } = run([passing('outer'), failing, passing('inner')], innerStub().inner);
    expect(isMeshClientError(out.error)).toBe(true);
    expect((out.error as MeshClientError).message).toContain("plugin 'mapper' failed in intercept: boom");
  });

  it('the rest failing with a plain error is named after the innermost plugin that handed it on', () => {
    const stub = innerStub((_c, o) => o.error(new Error('inner broke')));
    const { out } = run([passing('outer'), passing('innermost')], stub.inner);
    expect((out.error as MeshClientError).message).toContain("plugin 'innermost' failed in intercept: inner broke");
  });

  it('a MeshClientError from the rest reaches the end as it is', () => {
    const original = localError(site, 14, 'the server went away');
    const { out } = run([passing('p'), passing('q')], innerStub((_c, o) => o.error(original)).inner);
    expect(out.error).toBe(original);
  });

  it('a Proxy of a handoff, returned by a plugin, is subscribed as any Observable: the call runs', () => {
    const stub = innerStub();
    const proxying: MeshClientPlugin = { name: 'proxying', intercept: (call, next) => new Proxy(next.handle(call), {}) };
    const { out } = run([passing('outer'), proxying, passing('inner')], stub.inner);
    expect(stub.seen).toHaveLength(1);
    expect(out).toEqual({ values: [{ n: 1 }], completed: true });
  });

  it('a MeshCall handed on whose attempts getter throws: a failure is still named after the plugin, nothing escapes', () => {
    const hostile = handingOnThrowing('odd-call', 'attempts', 'no attempts');
    const { out } = run([passing('outer'), hostile], innerStub((_c, o) => o.error(new Error('inner broke'))).inner);
    expect((out.error as MeshClientError).message).toContain("plugin 'odd-call' failed in intercept: inner broke");
    expect((out.error as MeshClientError).attempts).toBe(0);
  });

  it('next.handle() calls the next interceptor at once, once: re-subscribing what it gave runs the call again, not the interceptor', () => {
    let innerIntercepts = 0;
    const retrying: MeshClientPlugin = { name: 'retrying', intercept: (call, next) => next.handle(call).pipe(retry(2)) };
    const counted: MeshClientPlugin = { name: 'counted', intercept: (call, next) => (innerIntercepts++, next.handle(call)) };
    let runs = 0;
    const stub = innerStub((c, o) => (++runs < 3 ? o.error(localError(site, 14, 'try again')) : (o.next(c.request), o.complete())));
    const { out } = run([retrying, counted], stub.inner);
    expect(innerIntercepts).toBe(1);
    expect(runs).toBe(3);
    expect(out).toEqual({ values: [{ n: 1 }], completed: true });
  });

  it('a handoff never subscribed: the next interceptor was still called, the call never started', () => {
    let innerIntercepts = 0;
    const fallback: MeshClientPlugin = { name: 'fallback', intercept: (call, next) => (next.handle(call), of('cached')) };
    const counted: MeshClientPlugin = { name: 'counted', intercept: (call, next) => (innerIntercepts++, next.handle(call)) };
    const stub = innerStub();
    const { out } = run([fallback, counted], stub.inner);
    expect(innerIntercepts).toBe(1);
    expect(stub.seen).toHaveLength(0);
    expect(out).toEqual({ values: ['cached'], completed: true });
  });

  it('a call handed on that throws when the rest reads it fails naming the plugin that handed it on', () => {
    const hostile = handingOnThrowing('proxying', 'request', 'no request here');
    const stub = innerStub();
    const inner: InnerCall = (call, observer) => (void call.request, stub.inner(call, observer));
    const { out } = run([passing('outer'), hostile], inner);
    expect(stub.seen).toHaveLength(0);
    expect((out.error as MeshClientError).message).toContain("plugin 'proxying' failed in intercept: no request here");
  });

  it("an inner plugin's Observable whose subscribe() throws fails the call naming it", () => {
    class Broken extends Observable<unknown> {
      override subscribe(): Subscription {
        throw new Error('cannot subscribe');
      }
    }
    const broken: MeshClientPlugin = { name: 'broken', intercept: () => new Broken() };
    const { out } = run([passing('outer'), broken], innerStub().inner);
    expect((out.error as MeshClientError).message).toContain("plugin 'broken' failed in intercept: cannot subscribe");
  });

  it('leaving the chain reaches the rest that runs in place of the plugins', () => {
    const stub = innerStub(() => undefined);
    const { sub, out } = run([passing('a'), passing('b')], stub.inner);
    sub.unsubscribe();
    expect(stub.left()).toBe(1);
    expect(out.completed).toBe(false);
  });
});
