import { catchError, isObservable, Observable, throwError, type Observer, type Subscriber, type Unsubscribable } from 'rxjs';
import { isMeshClientError } from '../../errors/mesh-client.error.js';
import type { CallSite } from '../../errors/to-mesh-error.js';
import type { MeshCall, MeshCallHandler, MeshClientPlugin } from '../../config/mesh-plugin.interface.js';
import { pluginError } from './plugin-error.js';

/** The rest of the call after the last interceptor (retry, breaker, attempts), run for `observer`. */
export type InnerCall = (call: MeshCall, observer: Observer<unknown>) => Unsubscribable;

/** What reaches the caller of plugin `plugin`'s Observable: a MeshClientError as it is, anything else an 'internal' error naming it. */
const failureOf = (site: CallSite, plugin: MeshClientPlugin, current: MeshCall, thrown: unknown): unknown =>
  isMeshClientError(thrown) ? thrown : pluginError(site, plugin, 'intercept', thrown, current.attempts);

/**
 * Subscribes `observer` to the call through its interceptors, the first outermost, each handed the
 * rest as `next`; `inner` is the rest of the call after the last one. A throw, a non-Observable or
 * a failure other than a MeshClientError becomes an 'internal' error naming the plugin. Each
 * subscription builds its own chain, the first interceptor called now.
 *
 * An interceptor that returns what its `next.handle()` gave it, as it is (one that only looks at or
 * changes the call), adds no RxJS layer: the next interceptor, or the call itself, is subscribed in
 * its place, and its failures are named as that Observable's would have been.
 */
export function subscribeIntercepted(
  interceptors: readonly MeshClientPlugin[],
  call: MeshCall,
  site: CallSite,
  inner: InnerCall,
  observer: Observer<unknown>,
): Unsubscribable {
  const chain = new Chain(interceptors, site, inner);
  let i = 0;
  let current = call;
  let out = chain.at(0, call);
  // plugin i handed on what it was given (its own `next`'s, inward: the loop ends): what that
  // stands for is run in its place, its failures named after the plugin it came from
  while (out instanceof Handoff && out.chain === chain && out.i > i) {
    if (out.i === interceptors.length) return inner(out.current, new ChainEnd(observer, site, interceptors[i]!, current));
    i = out.i;
    current = out.current;
    out = chain.at(i, current);
  }
  return out.subscribe(new ChainEnd(observer, site, interceptors[i]!, current));
}

/** One call's interceptors, and how each is handed the rest. */
class Chain {
  constructor(
    readonly interceptors: readonly MeshClientPlugin[],
    readonly site: CallSite,
    readonly inner: InnerCall,
  ) {}

  /** Interceptor `i` called with `current`: its Observable, or one that fails naming it. */
  at(i: number, current: MeshCall): Observable<unknown> {
    const plugin = this.interceptors[i]!;
    // (an arrow: a plugin may hand `next.handle` on as a function)
    const next: MeshCallHandler = { handle: (changed?: MeshCall) => new Handoff(this, i + 1, changed ?? current) };
    let out: unknown;
    let observable: boolean;
    try {
      out = plugin.intercept!(current, next);
      observable = isObservable(out); // (reading a hostile value is the plugin's failure too)
    } catch (error) {
      return throwError(() => failureOf(this.site, plugin, current, error));
    }
    if (!observable) return throwError(() => failureOf(this.site, plugin, current, new TypeError('intercept() did not return an Observable')));
    return out as Observable<unknown>;
  }
}

/**
 * What `next.handle()` gives interceptor `i - 1`: the rest of the chain from interceptor `i` (the
 * call itself past the last), started for each subscriber. An inner interceptor's failures are
 * named where its Observable is handed on; the outermost one's, where the chain is subscribed.
 */
class Handoff extends Observable<unknown> {
  constructor(
    readonly chain: Chain,
    readonly i: number,
    readonly current: MeshCall,
  ) {
    super((subscriber) => rest(chain, i, current, subscriber));
  }
}

/** One subscription to a Handoff: one run of the rest of the chain. */
function rest(chain: Chain, i: number, current: MeshCall, subscriber: Subscriber<unknown>): Unsubscribable {
  if (i === chain.interceptors.length) return chain.inner(current, subscriber);
  const plugin = chain.interceptors[i]!;
  return chain
    .at(i, current)
    .pipe(catchError((e: unknown) => throwError(() => failureOf(chain.site, plugin, current, e))))
    .subscribe(subscriber);
}

/** What the chain's Observable tells the call: its failures named after the plugin it came from. */
class ChainEnd implements Observer<unknown> {
  constructor(
    private readonly observer: Observer<unknown>,
    private readonly site: CallSite,
    private readonly plugin: MeshClientPlugin,
    private readonly call: MeshCall,
  ) {}

  next(value: unknown): void {
    this.observer.next(value);
  }

  error(error: unknown): void {
    this.observer.error(failureOf(this.site, this.plugin, this.call, error));
  }

  complete(): void {
    this.observer.complete();
  }
}
