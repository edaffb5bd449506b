import { catchError, isObservable, throwError, type Observable } from 'rxjs';
import { isMeshClientError } from '../../errors/mesh-client.error.js';
import type { CallSite } from '../../errors/to-mesh-error.js';
import type { MeshCall, MeshCallHandler, MeshClientPlugin } from '../../config/mesh-plugin.interface.js';
import { pluginError } from './plugin-error.js';

/**
 * The call through its interceptors, the first outermost, each handed the rest as `next`; `inner`
 * is the rest of the call after the last one (retry, breaker, attempts). A throw, a non-Observable
 * or a failure other than a MeshClientError becomes an 'internal' error naming the plugin. Runs the
 * first interceptor now: call it where the call is subscribed (each subscription builds its own chain).
 */
export function intercepted<T>(
  interceptors: readonly MeshClientPlugin[],
  call: MeshCall,
  site: CallSite,
  inner: (call: MeshCall) => Observable<T>,
): Observable<T> {
  const at = (i: number, current: MeshCall): Observable<unknown> => {
    if (i === interceptors.length) return inner(current);
    const plugin = interceptors[i]!;
    const fail = (thrown: unknown): Observable<never> =>
      throwError(() => (isMeshClientError(thrown) ? thrown : pluginError(site, plugin, 'intercept', thrown, current.attempts)));
    const next: MeshCallHandler = { handle: (changed?: MeshCall) => at(i + 1, changed ?? current) };
    let out: unknown;
    try {
      out = plugin.intercept!(current, next);
    } catch (error) {
      return fail(error);
    }
    if (!isObservable(out)) return fail(new TypeError('intercept() did not return an Observable'));
    return out.pipe(catchError(fail));
  };
  return at(0, call) as Observable<T>;
}
