import type { Metadata } from '@grpc/grpc-js';
import type { Observable } from 'rxjs';
import type { CallOptions } from '../config/call-options.interface.js';
import { toCallOptions } from '../options/call-options.js';
import type { MethodInfo } from '../proto/method-table.js';

/** Starts a call of a method with a request (message or Observable of messages). */
export type MethodCaller = (method: MethodInfo, request: unknown, options?: CallOptions) => Observable<unknown>;

/**
 * A plain object with one function per RPC, under each of its names (RPC name, Nest's name,
 * lowerCamel): `svc.GetItem(req)` and `svc.getItem(req)` both return the call's Observable. The
 * second argument is CallOptions or a grpc-js Metadata (as Nest's ClientGrpc and ts-proto pass it).
 */
export function buildServiceProxy(methods: ReadonlyMap<string, MethodInfo>, call: MethodCaller): Record<string, unknown> {
  const proxy: Record<string, unknown> = {};
  for (const method of methods.values()) {
    const fn = (request: unknown, options?: CallOptions | Metadata): Observable<unknown> => call(method, request, callOptionsOf(options));
    for (const alias of method.aliases) proxy[alias] ??= fn;
    proxy[method.name] = fn;
  }
  return Object.freeze(proxy);
}

/** The call options of a method's second argument; one that throws while probed is passed on as is, for the call to refuse. */
function callOptionsOf(arg: unknown): CallOptions | undefined {
  try {
    return toCallOptions(arg);
  } catch {
    return arg as CallOptions;
  }
}
