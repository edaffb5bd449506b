import { catchError, isObservable, throwError, type Observable, type Observer, type Subscription } from 'rxjs';
import { isMeshClientError } from '../../errors/mesh-client.error.js';
import type { CallSite } from '../../errors/to-mesh-error.js';
import type { MeshCall, MeshCallHandler, MeshClientPlugin } from '../../config/mesh-plugin.interface.js';
import { pluginError } from './plugin-error.js';

/** What reaches the caller of plugin `plugin`'s Observable: a MeshClientError as it is, anything else an 'internal' error naming it. */
const failureOf = (site: CallSite, plugin: MeshClientPlugin, current: MeshCall, thrown: unknown): unknown =>
  isMeshClientError(thrown) ? thrown : pluginError(site, plugin, 'intercept', thrown, current.attempts);

/**
 * Subscribes `observer` to the call through its interceptors, the first outermost, each handed the
 * rest as `next`; `inner` is the rest of the call after the last one (retry, breaker, attempts). A
 * throw, a non-Observable or a failure other than a MeshClientError becomes an 'internal' error
 * naming the plugin. Each subscription builds its own chain, the first interceptor called now.
 */
export function subscribeIntercepted<T>(
  interceptors: readonly MeshClientPlugin[],
  call: MeshCall,
  site: CallSite,
  inner: (call: MeshCall) => Observable<T>,
  observer: Observer<T>,
): Subscription {
  // interceptor i (there is one: `wrapped` hands the last one's `next` to `inner`)
  const at = (i: number, current: MeshCall): Observable<unknown> => {
    const plugin = interceptors[i]!;
    const next: MeshCallHandler = { handle: (changed?: MeshCall) => wrapped(i + 1, changed ?? current) };
    let out: unknown;
    let observable: boolean;
    try {
      out = plugin.intercept!(current, next);
      observable = isObservable(out); // (reading a hostile value is the plugin's failure too)
    } catch (error) {
      return throwError(() => failureOf(site, plugin, current, error));
    }
    if (!observable) return throwError(() => failureOf(site, plugin, current, new TypeError('intercept() did not return an Observable')));
    return out as Observable<unknown>;
  };
  // an inner interceptor's failures are named where its Observable is handed on; the outermost one's, where it is subscribed
  const wrapped = (i: number, current: MeshCall): Observable<unknown> =>
    i === interceptors.length
      ? inner(current)
      : at(i, current).pipe(catchError((e: unknown) => throwError(() => failureOf(site, interceptors[i]!, current, e))));
  return at(0, call).subscribe(new ChainEnd(observer, site, interceptors[0]!, call));
}

/** What the outermost interceptor's Observable tells the call: its failures named after it. */
class ChainEnd<T> implements Observer<unknown> {
  constructor(
    private readonly observer: Observer<T>,
    private readonly site: CallSite,
    private readonly first: MeshClientPlugin,
    private readonly call: MeshCall,
  ) {}

  next(value: unknown): void {
    this.observer.next(value as T);
  }

  error(error: unknown): void {
    this.observer.error(failureOf(this.site, this.first, this.call, error));
  }

  complete(): void {
    this.observer.complete();
  }
}
