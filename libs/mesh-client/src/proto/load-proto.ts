import type { GrpcObject, ServiceDefinition } from '@grpc/grpc-js';
import { loadSync, type Options, type PackageDefinition } from '@grpc/proto-loader';
import { withCompletedDefaults } from './default-completion.js';

/**
 * The proto-loader options of every `.proto` a client loads, unless its `proto.loader` overrides
 * them. Field names are camelCase, as Nest's `ClientGrpc` gives them (proto-loader's default);
 * values follow the types ts-proto generates with `nestJs=true`: 64-bit integers as numbers
 * (exact up to 2^53; `loader: { longs: String }` for larger ones), enums as numbers, scalar fields
 * present with their default values, oneof members only when set (no virtual oneof field).
 */
export const PROTO_LOADER_OPTIONS: Readonly<Options> = Object.freeze({
  keepCase: false,
  longs: Number,
  enums: Number,
  defaults: true,
  oneofs: false,
});

/**
 * Loads `.proto` files with {@link PROTO_LOADER_OPTIONS} and `overrides`. Throws what proto-loader
 * throws. With `defaults`, responses that hold `bytes` fields decode through {@link withCompletedDefaults}
 * (the same objects, built faster).
 */
export function loadProtoFiles(path: string | string[], includeDirs?: string[], overrides?: Options): PackageDefinition {
  const options: Options = { ...PROTO_LOADER_OPTIONS, ...overrides, includeDirs: includeDirs ?? overrides?.includeDirs };
  const loaded = loadSync(path, options);
  return options.defaults ? withCompletedDefaults(loaded, () => loadSync(path, { ...options, defaults: false }), options) : loaded;
}

function isServiceDefinition(value: unknown): value is ServiceDefinition {
  if (typeof value !== 'object' || value === null || 'format' in value) return false;
  const first = Object.values(value)[0] as { path?: unknown } | undefined;
  return first !== undefined && typeof first.path === 'string';
}

function serviceOf(value: unknown): ServiceDefinition | undefined {
  if (typeof value === 'function' && isServiceDefinition((value as { service?: unknown }).service)) {
    return (value as unknown as { service: ServiceDefinition }).service;
  }
  return isServiceDefinition(value) ? value : undefined;
}

/**
 * Finds `package.service` in a proto-loader package definition (flat, keyed by full name) or in a
 * `grpc.loadPackageDefinition` object (nested namespaces of client constructors).
 */
export function findService(definition: GrpcObject | PackageDefinition, pkg: string, service: string): ServiceDefinition | undefined {
  const fullName = pkg ? `${pkg}.${service}` : service;
  const flat = serviceOf((definition as Record<string, unknown>)[fullName]);
  if (flat) return flat;
  let node: unknown = definition;
  for (const part of fullName.split('.')) {
    if (typeof node !== 'object' && typeof node !== 'function') return undefined;
    node = (node as Record<string, unknown> | null)?.[part];
  }
  return serviceOf(node);
}

/** Full names of every service in a definition, for "did you mean" messages. */
export function listServices(definition: GrpcObject | PackageDefinition): string[] {
  const found: string[] = [];
  const walk = (node: Record<string, unknown>, prefix: string, depth: number): void => {
    for (const [key, value] of Object.entries(node)) {
      const name = prefix ? `${prefix}.${key}` : key;
      if (serviceOf(value)) found.push(name);
      else if (depth < 8 && typeof value === 'object' && value !== null && !('format' in value)) {
        walk(value as Record<string, unknown>, name, depth + 1);
      }
    }
  };
  walk(definition as Record<string, unknown>, '', 0);
  return found;
}
