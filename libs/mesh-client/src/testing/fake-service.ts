import type { FieldNaming } from '../config/policies.js';
import type { ServiceDefinition } from '@grpc/grpc-js';
import { buildMethodTable, methodLookup, type CallKind, type MethodInfo } from '../proto/method-table.js';
import { shapesOf } from '../proto/message-shapes.js';
import { RequestCheck } from '../proto/request-check.js';
import { RequestProblem } from '../proto/request-problem.js';
import { CLIENT_DEFAULTS } from '../config/defaults.js';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import { OptionChecks } from '../options/option-checks.js';
import { resolveProto } from '../options/resolve-proto.js';
import type { FakeHandler } from './fake.interface.js';

/** One RPC of the faked service. */
export interface FakeMethod {
  /** RPC name, e.g. 'GetItem'. */
  readonly rpc: string;
  /** Every name a handler may have: the RPC name and Nest's lowerCamel name. */
  readonly aliases: readonly string[];
  readonly kind: CallKind;
  /** The response checked against its message type (a renamed copy when needed); throws RequestProblem. */
  readonly checkResponse: (response: unknown) => unknown;
}

/** The service a fake serves, loaded the way clients load it. */
export interface FakeService {
  /** Full name, e.g. 'demo.inventory.Inventory'. */
  readonly name: string;
  readonly definition: ServiceDefinition;
  /** Methods by RPC name. */
  readonly methods: ReadonlyMap<string, FakeMethod>;
  /** Methods by every name they answer to (RPC name, Nest's lowerCamel name). */
  readonly lookup: ReadonlyMap<string, FakeMethod>;
}

/** The problem message of a response: RequestCheck words it for requests. */
const asResponse = (message: string): string =>
  message
    .replace(/^the request\b/, 'the response')
    .replace(/^request\b/, 'response')
    .replace(/\(at request\b/, '(at response');

function responseCheck(info: MethodInfo, def: ServiceDefinition[string], naming: FieldNaming): (response: unknown) => unknown {
  const index = shapesOf((def as { responseType?: unknown }).responseType);
  const output = index?.outputs.get(info.path.slice(1));
  const shape = output === undefined ? undefined : index!.messages.get(output);
  // a response holding more values than a default client takes bytes cannot reach it (and a DAG of them would hold the event loop)
  const check = shape ? new RequestCheck(index!, shape, naming, CLIENT_DEFAULTS.maxMessageBytes) : undefined;
  return (response) => {
    if (response === undefined || response === null) {
      throw new RequestProblem(`the handler returned ${String(response)}; return the response message ({} for an empty one)`);
    }
    try {
      return check ? check.check(response) : response;
    } catch (error) {
      throw error instanceof RequestProblem ? new RequestProblem(asResponse(error.message)) : error;
    }
  };
}

/**
 * Loads the service of `proto` (the `ProtoSource` clients take) with the library's own loading, so
 * that the fake reads and writes messages with the field names its clients use. Throws
 * MeshConfigError naming the field (`MeshFake.start().proto.service names no service ...`).
 */
export function loadFakeService(proto: unknown): FakeService {
  const { serviceName, definition, fieldNaming } = resolveProto(new OptionChecks('MeshFake.start()'), proto, new Map());
  const table = buildMethodTable('MeshFake', serviceName, definition, Number.MAX_SAFE_INTEGER, fieldNaming);
  const defs = new Map(Object.values(definition).map((def) => [def.path, def]));
  const methods = new Map<string, FakeMethod & { name: string }>();
  for (const info of table.values()) {
    const checkResponse = responseCheck(info, defs.get(info.path)!, fieldNaming);
    methods.set(info.name, { rpc: info.name, name: info.name, aliases: info.aliases, kind: info.kind, checkResponse });
  }
  return { name: serviceName, definition, methods, lookup: methodLookup(methods.values()) };
}

/** The method `name` stands for (RPC or Nest name); a MeshConfigError naming the RPCs otherwise. */
export function methodNamed(service: FakeService, name: string, where: string): FakeMethod {
  const method = service.lookup.get(name);
  if (!method) {
    throw new MeshConfigError(
      `${where}: ${service.name} has no RPC '${String(name).slice(0, 64)}' (its RPCs: ${[...service.methods.keys()].join(', ')})`,
    );
  }
  return method;
}

/** Handlers by RPC name; unknown names, duplicates and non-functions fail with a MeshConfigError naming them. */
export function bindHandlers(service: FakeService, handlers: unknown): ReadonlyMap<string, FakeHandler> {
  if (typeof handlers !== 'object' || handlers === null || Array.isArray(handlers)) {
    throw new MeshConfigError(`MeshFake.start(handlers): handlers must be an object of { [rpc]: handler } for ${service.name}`);
  }
  const bound = new Map<string, FakeHandler>();
  for (const [name, handler] of Object.entries(handlers)) {
    const method = methodNamed(service, name, 'MeshFake.start(handlers)');
    if (typeof handler !== 'function') {
      throw new MeshConfigError(`MeshFake.start(handlers): handlers.${name} must be a function (request, ctx) => response, got ${typeof handler}`);
    }
    if (bound.has(method.rpc)) throw new MeshConfigError(`MeshFake.start(handlers): ${method.rpc} is given twice (as '${name}' and another name)`);
    bound.set(method.rpc, handler as FakeHandler);
  }
  return bound;
}
