import { catchError, isObservable, Observable, Subscription, throwError, type Observer, type Subscriber, type Unsubscribable } from 'rxjs';
import { isMeshClientError } from '../../errors/mesh-client.error.js';
import type { CallSite } from '../../errors/to-mesh-error.js';
import type { MeshCall, MeshCallHandler, MeshClientPlugin } from '../../config/mesh-plugin.interface.js';
import { pluginError } from './plugin-error.js';
import type { Secrets } from '../../errors/describe-thrown.js';
import { noteMetadata, shareSecrets } from '../../errors/call-secrets.js';
import { isGrpcMetadata } from '../../security/metadata.js';

/** The rest of the call after the last interceptor (retry, breaker, attempts), run for `observer`. */
export type InnerCall = (call: MeshCall, observer: Observer<unknown>) => Unsubscribable;

/** A call's attempts so far, for an error; a plugin's own MeshCall may answer with anything, or throw. */
function attemptsOf(call: MeshCall): number {
  try {
    const n = call.attempts;
    return typeof n === 'number' ? n : 0;
  } catch {
    return 0;
  }
}

/**
 * What reaches the caller of plugin `plugin`'s Observable: a MeshClientError as it is, anything
 * else an 'internal' error naming it (the call's tokens masked: `chain.secrets`).
 */
const failureOf = (chain: Chain, plugin: MeshClientPlugin, current: MeshCall, thrown: unknown): unknown =>
  isMeshClientError(thrown) ? thrown : pluginError(chain.site, plugin, 'intercept', thrown, attemptsOf(current), chain.secrets?.(current));

/**
 * Subscribes `observer` to the call through its interceptors, the first outermost, each handed the
 * rest as `next`; `inner` is the rest of the call after the last one. `next.handle()` calls the
 * next interceptor at once (once per `handle()`: re-subscribing what it gave runs that again, not
 * the interceptor); the call itself starts when it is subscribed. A throw, a non-Observable or a
 * failure other than a MeshClientError becomes an 'internal' error naming the plugin.
 *
 * Interceptors that return what their `next.handle()` gave them, as it is (ones that only look at
 * or change the call), from the outermost inward, add no RxJS layer: what the last of them handed
 * on is subscribed in their place, its failures named after the plugin it came from. Without the
 * layer, an error reaches the call before that plugin's teardown runs (as the outermost plugin's
 * always did), and an Observable whose subscribe() throws is named after its own plugin.
 */
export function subscribeIntercepted(
  interceptors: readonly MeshClientPlugin[],
  call: MeshCall,
  site: CallSite,
  inner: InnerCall,
  observer: Observer<unknown>,
  secrets?: (call: MeshCall) => Secrets,
): Unsubscribable {
  const chain = new Chain(interceptors, site, inner, secrets);
  return Handoff.subscribeChain(chain, chain.at(0, call), call, observer);
}

/** One call's interceptors, and how each is handed the rest. */
class Chain {
  constructor(
    readonly interceptors: readonly MeshClientPlugin[],
    readonly site: CallSite,
    private readonly inner: InnerCall,
    /** The call's tokens (those noted on the plugin's call too), read when a plugin fails: masked in its failure. */
    readonly secrets: ((call: MeshCall) => Secrets) | undefined,
  ) {}

  /** Interceptor `i` called with `current`: its Observable, or one that fails naming it. */
  at(i: number, current: MeshCall): Observable<unknown> {
    const plugin = this.interceptors[i]!;
    // (an arrow: a plugin may hand `next.handle` on as a function)
    const next: MeshCallHandler = {
      handle: (changed?: MeshCall) => {
        if (changed !== undefined && changed !== current) handedOn(changed, current);
        return new Handoff(this, i + 1, changed ?? current);
      },
    };
    let out: unknown;
    let observable: boolean;
    try {
      out = plugin.intercept!(current, next);
      observable = isObservable(out); // (reading a hostile value is the plugin's failure too)
    } catch (error) {
      return throwError(() => failureOf(this, plugin, current, error));
    }
    if (!observable) return throwError(() => failureOf(this, plugin, current, new TypeError('intercept() did not return an Observable')));
    return out as Observable<unknown>;
  }

  /** The call itself, for `observer`; a call a plugin handed on that cannot be read fails it. */
  start(current: MeshCall, observer: Observer<unknown>): Unsubscribable {
    try {
      return this.inner(current, observer);
    } catch (error) {
      observer.error(error);
      return Subscription.EMPTY;
    }
  }
}

/**
 * A MeshCall a plugin handed on in place of `current` (a copy of its own): it shares the call's
 * secrets, and its own metadata joins them (read for credentials only when a failure is masked).
 * Reading it is the plugin's risk: a value that cannot be read is left to fail where the call reads it.
 */
function handedOn(changed: MeshCall, current: MeshCall): void {
  shareSecrets(changed, current);
  try {
    const metadata = changed.metadata;
    if (metadata !== current.metadata && isGrpcMetadata(metadata)) noteMetadata(current, metadata);
  } catch {
    // (the call fails where it reads the metadata, naming the plugin)
  }
}

/**
 * What `next.handle()` gives interceptor `i - 1`: interceptor `i`'s Observable, called when the
 * handoff is made (the call itself past the last interceptor), subscribed for each subscriber. An
 * inner interceptor's failures are named where its Observable is handed on.
 */
class Handoff extends Observable<unknown> {
  // private to this module: a plugin holding a handoff cannot reach the chain through it
  readonly #chain: Chain;
  readonly #i: number;
  readonly #current: MeshCall;
  readonly #next: Observable<unknown> | undefined;
  #named: Observable<unknown> | undefined;

  constructor(chain: Chain, i: number, current: MeshCall) {
    super((subscriber) => this.#subscribe(subscriber));
    this.#chain = chain;
    this.#i = i;
    this.#current = current;
    this.#next = i < chain.interceptors.length ? chain.at(i, current) : undefined;
  }

  /**
   * Subscribes `observer` to `out`, interceptor 0's Observable. While an interceptor returned what
   * its own `next` gave (inward only, so this ends), what that stands for runs in its place.
   */
  static subscribeChain(chain: Chain, out: Observable<unknown>, call: MeshCall, observer: Observer<unknown>): Unsubscribable {
    let i = 0;
    let current = call;
    // (a brand check: a Proxy of a handoff, or an object made from its prototype, is subscribed as any Observable)
    while (#chain in out && out.#chain === chain && out.#i > i) {
      const next = out.#next;
      if (!next) return chain.start(out.#current, new ChainEnd(observer, chain, chain.interceptors[i]!, current));
      i = out.#i;
      current = out.#current;
      out = next;
    }
    const end = new ChainEnd(observer, chain, chain.interceptors[i]!, current);
    try {
      return out.subscribe(end);
    } catch (error) {
      // an Observable of the plugin's whose subscribe() throws
      end.error(error);
      return Subscription.EMPTY;
    }
  }

  #subscribe(subscriber: Subscriber<unknown>): Unsubscribable {
    const chain = this.#chain;
    const next = this.#next;
    if (!next) return chain.start(this.#current, subscriber);
    return (this.#named ??= this.#nameFailures(next)).subscribe(subscriber);
  }

  /** Interceptor `i`'s Observable, its failures named after it (made once, when first subscribed). */
  #nameFailures(next: Observable<unknown>): Observable<unknown> {
    const chain = this.#chain;
    const plugin = chain.interceptors[this.#i]!;
    const current = this.#current;
    return next.pipe(catchError((e: unknown) => throwError(() => failureOf(chain, plugin, current, e))));
  }
}

/** What the chain's Observable tells the call: its failures named after the plugin it came from. */
class ChainEnd implements Observer<unknown> {
  constructor(
    private readonly observer: Observer<unknown>,
    private readonly chain: Chain,
    private readonly plugin: MeshClientPlugin,
    private readonly call: MeshCall,
  ) {}

  next(value: unknown): void {
    this.observer.next(value);
  }

  error(error: unknown): void {
    this.observer.error(failureOf(this.chain, this.plugin, this.call, error));
  }

  complete(): void {
    this.observer.complete();
  }
}
