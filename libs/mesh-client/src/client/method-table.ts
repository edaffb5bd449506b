import type { ServiceDefinition } from '@grpc/grpc-js';
import type { CallSite } from '../errors/to-mesh-error.js';

/** The four gRPC call kinds. */
export type CallKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';

/** Everything needed to call one RPC, computed once per client. */
export interface MethodInfo {
  /** RPC name as in the proto, e.g. 'GetItem'. */
  readonly name: string;
  /** lowerCamel alias, e.g. 'getItem'. */
  readonly alias: string;
  /** Wire path, e.g. '/demo.Inventory/GetItem'. */
  readonly path: string;
  readonly kind: CallKind;
  readonly serialize: (value: unknown) => Buffer;
  readonly deserialize: (bytes: Buffer) => unknown;
  /** What every error of this method names. */
  readonly site: CallSite;
}

function kindOf(requestStream: boolean, responseStream: boolean): CallKind {
  if (requestStream) return responseStream ? 'bidi' : 'client-stream';
  return responseStream ? 'server-stream' : 'unary';
}

/** Builds the method table of a service, keyed by RPC name. */
export function buildMethodTable(
  client: string,
  serviceName: string,
  definition: ServiceDefinition,
  maxMessageBytes: number,
): ReadonlyMap<string, MethodInfo> {
  const table = new Map<string, MethodInfo>();
  for (const [name, def] of Object.entries(definition)) {
    const rpc = def.path.slice(def.path.lastIndexOf('/') + 1) || name;
    table.set(rpc, {
      name: rpc,
      alias: rpc.charAt(0).toLowerCase() + rpc.slice(1),
      path: def.path,
      kind: kindOf(def.requestStream, def.responseStream),
      serialize: def.requestSerialize as (value: unknown) => Buffer,
      deserialize: def.responseDeserialize as (bytes: Buffer) => unknown,
      site: Object.freeze({ client, service: serviceName, method: rpc, maxMessageBytes }),
    });
  }
  return table;
}
