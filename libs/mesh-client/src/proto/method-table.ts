import type { FieldNaming } from '../config/policies.js';
import type { MethodDefinition, ServiceDefinition } from '@grpc/grpc-js';
import { describeThrown } from '../errors/describe-thrown.js';
import type { CallSite } from '../errors/to-mesh-error.js';
import { requestShapeOf } from './message-shapes.js';
import { methodAliases, nestMethodName } from './method-names.js';
import { RequestCheck } from './request-check.js';
import { RequestProblem } from './request-problem.js';

/** The four gRPC call kinds. */
export type CallKind = 'unary' | 'server-stream' | 'client-stream' | 'bidi';

/** Everything needed to call one RPC, computed once per client. */
export interface MethodInfo {
  /** RPC name as in the proto, e.g. 'GetItem'. */
  readonly name: string;
  /** The name Nest's ClientGrpc gives it, e.g. 'getItem' ('GetHTTPStatus' -> 'getHttpStatus'). */
  readonly nestName: string;
  /** Every name the RPC answers to in `unary()`, `getService()` and `methods`. */
  readonly aliases: readonly string[];
  /** Wire path, e.g. '/demo.Inventory/GetItem'. */
  readonly path: string;
  readonly kind: CallKind;
  /**
   * One request message checked against its type (unknown fields, wrong types), serialized and
   * held to the size limit. Throws RequestProblem, before anything is sent.
   */
  readonly encode: (message: unknown) => Buffer;
  readonly deserialize: (bytes: Buffer) => unknown;
  /** What every error of this method names. */
  readonly site: CallSite;
}

function kindOf(requestStream: boolean, responseStream: boolean): CallKind {
  if (requestStream) return responseStream ? 'bidi' : 'client-stream';
  return responseStream ? 'server-stream' : 'unary';
}

/** The RPC name of a method definition (the last part of its path). */
export function rpcNameOf(key: string, def: { path: string }): string {
  return def.path.slice(def.path.lastIndexOf('/') + 1) || key;
}

function encoderOf(def: MethodDefinition<unknown, unknown>, naming: FieldNaming, maxMessageBytes: number): (message: unknown) => Buffer {
  const found = requestShapeOf((def as { requestType?: unknown }).requestType, def.path);
  const check = found ? new RequestCheck(found.index, found.shape, naming, maxMessageBytes) : undefined;
  const typeName = found?.shape.name ?? 'its request type';
  const serialize = def.requestSerialize as (value: unknown) => Buffer;
  return (message) => {
    const checked = check ? check.check(message) : message === undefined ? {} : message;
    let bytes: Buffer;
    try {
      bytes = serialize(checked);
    } catch (error) {
      throw new RequestProblem(`the request does not serialize as ${typeName}: ${describeThrown(error)}`);
    }
    if (bytes.length > maxMessageBytes) {
      throw new RequestProblem(
        `the request message is ${String(bytes.length)} bytes, over maxMessageBytes=${String(maxMessageBytes)}; raise maxMessageBytes if larger messages are expected`,
      );
    }
    return bytes;
  };
}

/** Builds the method table of a service, keyed by RPC name. */
export function buildMethodTable(
  client: string,
  serviceName: string,
  definition: ServiceDefinition,
  maxMessageBytes: number,
  naming: FieldNaming,
): ReadonlyMap<string, MethodInfo> {
  const table = new Map<string, MethodInfo>();
  for (const [key, def] of Object.entries(definition)) {
    const rpc = rpcNameOf(key, def);
    const originalName = (def as { originalName?: unknown }).originalName;
    table.set(rpc, {
      name: rpc,
      nestName: nestMethodName(rpc, originalName),
      aliases: methodAliases(rpc, originalName),
      path: def.path,
      kind: kindOf(def.requestStream, def.responseStream),
      encode: encoderOf(def, naming, maxMessageBytes),
      deserialize: def.responseDeserialize as (bytes: Buffer) => unknown,
      site: Object.freeze({ client, service: serviceName, method: rpc, maxMessageBytes }),
    });
  }
  return table;
}

/** Every name (RPC name and aliases) of every method, to its method; an RPC's own name wins a clash. */
export function methodLookup<M extends { name: string; aliases: readonly string[] }>(methods: Iterable<M>): ReadonlyMap<string, M> {
  const lookup = new Map<string, M>();
  const all = [...methods];
  for (const m of all) for (const alias of m.aliases) if (!lookup.has(alias)) lookup.set(alias, m);
  for (const m of all) lookup.set(m.name, m);
  return lookup;
}
