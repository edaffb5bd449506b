import type { GrpcObject, ServiceDefinition } from '@grpc/grpc-js';
import type { Options, PackageDefinition } from '@grpc/proto-loader';
import { findService, listServices, loadProtoFiles } from '../proto/load-proto.js';
import type { FieldNaming } from '../config/policies.js';
import { describeThrown } from '../errors/describe-thrown.js';
import { didYouMean } from '../errors/did-you-mean.js';
import type { OptionChecks } from './option-checks.js';

/** Parsed proto files, shared by the clients of one module so that each file set is parsed once. */
export type ProtoCache = Map<string, PackageDefinition>;

const BOOLEAN_LOADER_KEYS = ['keepCase', 'defaults', 'arrays', 'objects', 'oneofs', 'json', 'alternateCommentMode'] as const;
const LOADER_KEYS = [...BOOLEAN_LOADER_KEYS, 'longs', 'enums', 'bytes', 'includeDirs'];
const CONVERSIONS: Record<string, readonly unknown[]> = { longs: [String, Number], enums: [String, Number], bytes: [String, Array, Buffer] };

/**
 * Why a proto file set did not load. A parse error names the file and line but never quotes the
 * file's content (protobufjs quotes the token it stumbled on: a path pointing at a secret would
 * leak it).
 */
function describeLoadError(error: unknown): string {
  const message = describeThrown(error);
  if ((error as { code?: unknown } | null)?.code === 'ENOENT') return `cannot be read (${message})`;
  return `cannot be parsed as .proto (${message.replace(/'[^']*'|"[^"]*"/g, "'...'").slice(0, 300)})`;
}

/** A list of names for a message: the first few, and how many there are in all. */
export function fewOf(names: readonly string[], shown = 8): string {
  if (names.length === 0) return 'none';
  if (names.length <= shown) return names.join(', ');
  return `${names.slice(0, shown).join(', ')}, ... (${String(names.length)} in all)`;
}

/** Validates `proto.loader` (proto-loader options, as Nest's `loader`). */
function resolveLoader(at: OptionChecks, raw: unknown): Options | undefined {
  if (raw === undefined) return undefined;
  const loader = at.object('loader', raw);
  const check = at.at('loader');
  check.knownKeys(loader, LOADER_KEYS);
  for (const key of BOOLEAN_LOADER_KEYS) check.boolean(key, loader[key], false);
  for (const [key, allowed] of Object.entries(CONVERSIONS)) {
    if (loader[key] !== undefined && !allowed.includes(loader[key])) {
      check.fail(key, `must be one of ${allowed.map((c) => (c as { name: string }).name).join(', ')}`, loader[key]);
    }
  }
  const dirs = loader.includeDirs;
  if (dirs !== undefined && !(Array.isArray(dirs) && dirs.every((d) => typeof d === 'string')))
    check.fail('includeDirs', 'must be an array of folder paths', dirs);
  return Object.freeze({ ...loader }) as Options;
}

const cacheKey = (paths: unknown, includeDirs: unknown, loader: Options | undefined): string =>
  JSON.stringify([paths, includeDirs ?? [], loader ?? {}], (_key, value: unknown) => (typeof value === 'function' ? value.name : value));

/**
 * Validates `proto` and returns the service it names and how request field names are matched:
 * exactly for files the client loaded itself, either spelling for a definition loaded elsewhere.
 */
export function resolveProto(
  check: OptionChecks,
  raw: unknown,
  cache: ProtoCache,
): { serviceName: string; definition: ServiceDefinition; fieldNaming: FieldNaming } {
  const proto = check.object('proto', raw);
  const at: OptionChecks = check.at('proto');
  const given = 'definition' in proto;
  at.knownKeys(proto, given ? ['definition', 'package', 'service'] : ['path', 'package', 'service', 'includeDirs', 'loader']);
  const pkg = proto.package === '' ? '' : at.nonEmptyString('package', proto.package);
  const named = proto.service === undefined ? undefined : at.nonEmptyString('service', proto.service);
  let definition: GrpcObject | PackageDefinition;
  if (given) {
    definition = at.object('definition', proto.definition) as GrpcObject | PackageDefinition;
  } else {
    const paths = proto.path;
    const valid =
      typeof paths === 'string' ? paths !== '' : Array.isArray(paths) && paths.length > 0 && paths.every((p) => typeof p === 'string' && p !== '');
    if (!valid) at.fail('path', "must be a .proto file path or a non-empty array of them (or give 'definition' instead)", paths);
    const includeDirs = proto.includeDirs;
    if (includeDirs !== undefined && !(Array.isArray(includeDirs) && includeDirs.every((d) => typeof d === 'string'))) {
      at.fail('includeDirs', 'must be an array of folder paths', includeDirs);
    }
    const loader = resolveLoader(at, proto.loader);
    const key = cacheKey(paths, includeDirs, loader);
    let loaded = cache.get(key);
    if (!loaded) {
      try {
        loaded = loadProtoFiles(paths as string | string[], includeDirs as string[] | undefined, loader);
      } catch (error) {
        // a parse error quotes the file's content: it is told (sanitised), never kept as the cause
        const readable = (error as { code?: unknown } | null)?.code === 'ENOENT';
        at.fail('path', describeLoadError(error), paths, readable ? { cause: error } : {});
      }
      cache.set(key, loaded);
    }
    definition = loaded;
  }
  checkPackage(at, definition, pkg);
  const service = named ?? onlyServiceOf(at, definition, pkg);
  const found = findService(definition, pkg, service);
  const serviceName = pkg ? `${pkg}.${service}` : service;
  if (!found) {
    const known = listServices(definition);
    at.fail('service', `names no service in the proto (looked for '${serviceName}'; found: ${fewOf(known)})`, service);
  }
  return { serviceName, definition: found, fieldNaming: given ? 'either' : 'exact' };
}

/** Without `service`: the one service of the package, or a failure naming the choices. */
function onlyServiceOf(at: OptionChecks, definition: GrpcObject | PackageDefinition, pkg: string): string {
  const prefix = pkg ? `${pkg}.` : '';
  const inPackage = listServices(definition).filter((name) => name.startsWith(prefix) && !name.slice(prefix.length).includes('.'));
  if (inPackage.length !== 1) {
    at.fail('service', `is needed: package '${pkg}' has ${inPackage.length === 0 ? 'no service' : `several (${fewOf(inPackage)})`}`, undefined);
  }
  return inPackage[0]!.slice(prefix.length);
}

/** Whether `pkg` names a namespace of the definition (flat: a key under it; nested: the path). */
function hasNamespace(definition: GrpcObject | PackageDefinition, pkg: string): boolean {
  if (Object.keys(definition).some((key) => key.startsWith(`${pkg}.`))) return true;
  let node: unknown = definition;
  for (const part of pkg.split('.')) {
    if (typeof node !== 'object' || node === null) return false;
    node = (node as Record<string, unknown>)[part];
  }
  return typeof node === 'object' && node !== null;
}

/** A package the proto does not have fails on `package` (not `service`), listing the packages that have services. */
function checkPackage(at: OptionChecks, definition: GrpcObject | PackageDefinition, pkg: string): void {
  if (pkg === '' || hasNamespace(definition, pkg)) return;
  const packages = [...new Set(listServices(definition).map((name) => name.slice(0, Math.max(0, name.lastIndexOf('.')))))].filter(Boolean);
  at.fail('package', `names no package of the proto (packages with services: ${packages.join(', ') || 'none'}${didYouMean(pkg, packages)})`, pkg);
}
