import type { GrpcObject, ServiceDefinition } from '@grpc/grpc-js';
import type { PackageDefinition } from '@grpc/proto-loader';
import { findService, listServices, loadProtoFiles } from '../client/proto.js';
import { describeThrown } from '../errors/describe-thrown.js';
import type { OptionChecks } from './option-checks.js';

/** Parsed proto files, shared by the clients of one module so that each file set is parsed once. */
export type ProtoCache = Map<string, PackageDefinition>;

function describeLoadError(error: unknown): string {
  const message = describeThrown(error);
  return (error as { code?: unknown }).code === 'ENOENT' ? `cannot be read (${message})` : `cannot be parsed (${message})`;
}

/** Validates `proto` and returns the service it names. */
export function resolveProto(
  check: OptionChecks,
  raw: unknown,
  cache: ProtoCache,
): { serviceName: string; definition: ServiceDefinition } {
  const proto = check.object('proto', raw);
  const at: OptionChecks = check.at('proto');
  const pkg = proto.package === '' ? '' : at.nonEmptyString('package', proto.package);
  const service = at.nonEmptyString('service', proto.service);
  let definition: GrpcObject | PackageDefinition;
  if ('definition' in proto) {
    definition = at.object('definition', proto.definition) as GrpcObject | PackageDefinition;
  } else {
    const paths = proto.path;
    const valid = typeof paths === 'string' ? paths !== '' : Array.isArray(paths) && paths.length > 0 && paths.every((p) => typeof p === 'string' && p !== '');
    if (!valid) at.fail('path', "must be a .proto file path or a non-empty array of them (or give 'definition' instead)", paths);
    const includeDirs = proto.includeDirs;
    if (includeDirs !== undefined && !(Array.isArray(includeDirs) && includeDirs.every((d) => typeof d === 'string'))) {
      at.fail('includeDirs', 'must be an array of folder paths', includeDirs);
    }
    const key = JSON.stringify([paths, includeDirs ?? []]);
    let loaded = cache.get(key);
    if (!loaded) {
      try {
        loaded = loadProtoFiles(paths as string | string[], includeDirs as string[] | undefined);
      } catch (error) {
        at.fail('path', describeLoadError(error), paths, { cause: error });
      }
      cache.set(key, loaded);
    }
    definition = loaded;
  }
  const found = findService(definition, pkg, service);
  const serviceName = pkg ? `${pkg}.${service}` : service;
  if (!found) {
    const known = listServices(definition);
    at.fail('service', `names no service in the proto (looked for '${serviceName}'; found: ${known.join(', ') || 'none'})`, service);
  }
  return { serviceName, definition: found };
}
