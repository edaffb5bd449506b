import type { MeshTlsOptions } from '../config/mesh-client-options.interface.js';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import { OptionChecks } from '../options/option-checks.js';
import { mergeDefaults } from '../options/resolve-options.js';
import { checkServerIdentity } from '../options/resolve-transport.js';
import type { MeshFake } from './mesh-fake.js';

type Raw = Record<string, unknown>;

const isRecord = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);

/** The full service name a client's raw `proto` names, or its package prefix when it names no service. */
function serviceOfClient(proto: unknown): { exact: string } | { inPackage: string } | undefined {
  if (!isRecord(proto) || typeof proto.package !== 'string') return undefined;
  if (typeof proto.service === 'string') return { exact: proto.package ? `${proto.package}.${proto.service}` : proto.service };
  return { inPackage: proto.package };
}

function servesClient(fake: MeshFake, proto: unknown): boolean {
  const wanted = serviceOfClient(proto);
  if (!wanted) return true; // an invalid proto option: validation reports it
  if ('exact' in wanted) return fake.service === wanted.exact;
  const prefix = wanted.inPackage ? `${wanted.inPackage}.` : '';
  return fake.service.startsWith(prefix) && !fake.service.slice(prefix.length).includes('.');
}

/** The client's transport replaced by the fake's: plaintext, or mutual TLS with the fake's generated material (every tls field set, so none of `defaults.tls` is merged in). */
function transportOf(fake: MeshFake): Raw {
  if (!fake.tls) return { target: fake.target, insecure: true, tls: undefined };
  const tls: Record<keyof MeshTlsOptions, unknown> = { ...fake.tls, expectedServerIds: undefined, watch: false };
  return { target: fake.target, insecure: false, tls };
}

/**
 * The application's own `tls` of client `index` (over `defaults.tls`, as the client merges it), if
 * it has one: its server identity (serverName, expectedServerIds) is checked as at start, so a test
 * with a fake catches an id no certificate can present. Its key material is not read (a test may
 * not have the files the fake's material stands in for).
 */
function checkOwnIdentity(client: Raw, defaults: Raw, index: number, name: string): void {
  const merged = mergeDefaults(defaults, client);
  const { insecure, tls } = merged;
  // plaintext, or a transport start would refuse before it read the ids (insecure not a boolean, tls not an object)
  if ((insecure !== undefined && insecure !== false) || !isRecord(tls)) return;
  try {
    checkServerIdentity(new OptionChecks(`clients[${String(index)}]`).at('tls'), tls);
  } catch (error) {
    if (!(error instanceof MeshConfigError)) throw error;
    throw new MeshConfigError(`${error.message} (client '${name}'; MeshTestingModule.withFakes checks it before the fake's tls takes its place)`);
  }
}

/**
 * Rewrites raw module options so that the clients named in `fakes` reach their fakes; every other
 * option stays as the application gave it. Adds every client name it saw to `seen`. Throws
 * MeshConfigError for a fake of another service than its client's, a plaintext fake where the
 * application requires mutual TLS, or a faked client's own server identity that no certificate
 * could present.
 */
export function pointAtFakes(raw: unknown, fakes: ReadonlyMap<string, MeshFake>, seen: Set<string>): unknown {
  if (!isRecord(raw) || !Array.isArray(raw.clients)) return raw;
  const defaults = isRecord(raw.defaults) ? raw.defaults : {};
  const requireMtls = raw.requireMtls === true || (raw.requireMtls === undefined && process.env.NODE_ENV === 'production');
  const clients = raw.clients.map((client: unknown, index: number) => {
    if (!isRecord(client) || typeof client.name !== 'string') return client;
    seen.add(client.name);
    const fake = fakes.get(client.name);
    if (!fake) return client;
    const name = client.name;
    if (!servesClient(fake, client.proto ?? defaults.proto)) {
      const proto = serviceOfClient(client.proto ?? defaults.proto)!;
      const wanted = 'exact' in proto ? proto.exact : `a service of package '${proto.inPackage}'`;
      throw new MeshConfigError(
        `MeshTestingModule.withFakes: the fake given for client '${name}' serves ${fake.service}, but the client calls ${wanted}; start the fake with the client's proto`,
      );
    }
    if (requireMtls && !fake.tls) {
      throw new MeshConfigError(
        `MeshTestingModule.withFakes: client '${name}' requires mutual TLS (requireMtls, the default when NODE_ENV=production); start its fake with MeshFake.start(proto, handlers, { tls: true })`,
      );
    }
    checkOwnIdentity(client, defaults, index, name);
    return { ...client, ...transportOf(fake) };
  });
  return { ...raw, clients };
}
