import type { Observable } from 'rxjs';
import type { CallOptions } from './call-options.interface.js';
import type { MethodInfo } from './method-table.js';

/** Starts a call of a method with a request (message or Observable of messages). */
export type MethodCaller = (method: MethodInfo, request: unknown, options?: CallOptions) => Observable<unknown>;

/**
 * A plain object with one function per RPC, under its RPC name and its lowerCamel alias:
 * `svc.GetItem(req)` and `svc.getItem(req)` both return the call's Observable.
 */
export function buildServiceProxy(methods: ReadonlyMap<string, MethodInfo>, call: MethodCaller): Record<string, unknown> {
  const proxy: Record<string, unknown> = {};
  for (const method of methods.values()) {
    const fn = (request: unknown, options?: CallOptions): Observable<unknown> => call(method, request, options);
    proxy[method.name] = fn;
    proxy[method.alias] ??= fn;
  }
  return Object.freeze(proxy);
}
