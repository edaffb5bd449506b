import type { TlsMaterial } from '../config/policies.js';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import { describeThrown } from '../errors/describe-thrown.js';
import { TlsMaterialError, loadTlsMaterial, tlsFiles } from '../security/tls-credentials.js';
import { serverIdProblem } from '../security/server-ids.js';
import type { MeshTlsOptions } from '../config/mesh-client-options.interface.js';
import { MAX_TIMER_MS, type OptionChecks } from './option-checks.js';
import { CLIENT_DEFAULTS, KEEPALIVE_DEFAULTS, TLS_DEFAULTS, keysOf } from '../config/defaults.js';
import type { ResolvedClientOptions } from '../config/resolved-options.interface.js';
import { checkedTarget } from './checked-target.js';
import { namesAnIpAddress } from '../config/target.js';

/** Node 26 throws on an IP address as the TLS server name (DEP0123, end of life). */
const IP_SERVERNAME_REFUSED = Number(process.versions.node.split('.')[0]) >= 26;

type Transport = Pick<ResolvedClientOptions, 'target' | 'tls' | 'tlsMaterial' | 'insecure' | 'loadBalancing' | 'keepalive' | 'compression'>;

const PEM_OR_PATH = 'must be a file path or PEM (string or Buffer)';

/**
 * Checks `tls.serverName` and `tls.expectedServerIds` (`at`: the checks of `tls`), which need no
 * file: every id must be one a certificate can present. Returns the ids to use, read once into a
 * frozen copy (a hole, a getter or a Proxy cannot answer the check one way and the channels another).
 */
export function checkServerIdentity(at: OptionChecks, tls: Record<string, unknown>): readonly string[] | undefined {
  if (tls.serverName !== undefined) at.nonEmptyString('serverName', tls.serverName);
  const given = tls.expectedServerIds;
  let ids: unknown;
  try {
    ids = Array.isArray(given) ? Array.from(given as unknown[]) : given;
  } catch (error) {
    at.fail('expectedServerIds', `could not be read (${describeThrown(error)})`, undefined);
  }
  if (ids === undefined) return undefined;
  if (!(Array.isArray(ids) && ids.length > 0 && ids.every((id) => typeof id === 'string' && id !== ''))) {
    at.fail('expectedServerIds', 'must be a non-empty array of SAN URIs, DNS names or IP addresses', given);
  }
  (ids as string[]).forEach((id, i) => {
    const problem = serverIdProblem(id);
    if (problem) at.fail(`expectedServerIds[${String(i)}]`, problem, id);
  });
  return Object.freeze(ids as string[]);
}

function resolveTls(check: OptionChecks, raw: unknown): MeshTlsOptions {
  const tls = check.object('tls', raw);
  const at = check.at('tls');
  at.knownKeys(tls, keysOf(TLS_DEFAULTS));
  const pem = (field: string, value: unknown, required: boolean): void => {
    if (value === undefined && !required) return;
    const ok = (typeof value === 'string' && value !== '') || (Buffer.isBuffer(value) && value.length > 0);
    if (!ok) at.fail(field, PEM_OR_PATH, value, { secret: true });
  };
  pem('ca', tls.ca, true);
  pem('cert', tls.cert, false);
  pem('key', tls.key, false);
  if ((tls.cert === undefined) !== (tls.key === undefined)) {
    at.fail(tls.cert === undefined ? 'cert' : 'key', 'must be given together with the other of cert/key (mutual TLS needs both)', undefined);
  }
  const ids = checkServerIdentity(at, tls);
  if (at.boolean('watch', tls.watch, TLS_DEFAULTS.watch) && tlsFiles(tls as Pick<MeshTlsOptions, 'ca' | 'cert' | 'key'>).length === 0) {
    at.fail('watch', 'needs at least one of ca/cert/key given as a file path (inline PEM cannot change)', true);
  }
  // the ids checked are the ids used: a copy, so the app's array changed later reaches no channel
  const checked = ids === undefined ? {} : { expectedServerIds: ids };
  return Object.freeze({ ...tls, ...checked }) as unknown as MeshTlsOptions;
}

function loadMaterial(check: OptionChecks, tls: MeshTlsOptions): TlsMaterial {
  try {
    return loadTlsMaterial(tls);
  } catch (error) {
    if (!(error instanceof TlsMaterialError)) throw error;
    throw new MeshConfigError(`${check.path}.${error.message}`);
  }
}

/** Validates where and how the client connects. */
export function resolveTransport(check: OptionChecks, raw: Record<string, unknown>, requireMtls: boolean): Transport {
  const target = checkedTarget(check, raw.target);
  const insecure = check.boolean('insecure', raw.insecure, CLIENT_DEFAULTS.insecure);
  if (insecure && raw.tls !== undefined) check.fail('insecure', 'cannot be true together with tls (choose one)', insecure);
  if (!insecure && raw.tls === undefined) check.fail('tls', 'is required unless insecure: true (plaintext) is set explicitly', undefined);
  const tls = insecure ? undefined : resolveTls(check, raw.tls);
  if (requireMtls && (insecure || tls?.cert === undefined)) {
    throw new MeshConfigError(
      `${check.where(insecure ? 'insecure' : 'tls.cert')}: mutual TLS is required (requireMtls, the default when NODE_ENV=production); give tls.ca, tls.cert and tls.key (fromClientsModule: tls on the entry, or defaults.tls in its second argument)`,
    );
  }
  let keepalive: Transport['keepalive'];
  if (raw.keepalive !== undefined) {
    const ka = check.object('keepalive', raw.keepalive);
    const at = check.at('keepalive');
    at.knownKeys(ka, keysOf(KEEPALIVE_DEFAULTS));
    keepalive = Object.freeze({
      timeMs:
        ka.timeMs === undefined
          ? at.fail('timeMs', 'is required', undefined)
          : at.number('timeMs', ka.timeMs, 0, { min: 1000, max: MAX_TIMER_MS, integer: true }),
      timeoutMs: at.number('timeoutMs', ka.timeoutMs, KEEPALIVE_DEFAULTS.timeoutMs, { min: 1, max: MAX_TIMER_MS, integer: true }),
    });
  }
  const tlsMaterial = tls ? loadMaterial(check, tls) : undefined;
  // grpc-js sends the target's host as the TLS server name, which Node 26 refuses for an IP address
  // (a TypeError on every connection); Node 20-24 take it with a deprecation warning
  if (tls?.serverName === undefined && tls && IP_SERVERNAME_REFUSED && namesAnIpAddress(target)) {
    check.fail(
      'tls.serverName',
      "is needed for a target given as an IP address on Node 26 and later (Node refuses an IP address as the TLS server name): give the DNS name the server's certificate holds (with tls.expectedServerIds, any name: it is sent, not checked)",
      undefined,
    );
  }
  return {
    target,
    tls,
    tlsMaterial,
    insecure,
    loadBalancing: check.oneOf('loadBalancing', raw.loadBalancing, ['pick_first', 'round_robin'] as const, CLIENT_DEFAULTS.loadBalancing),
    keepalive,
    compression: check.oneOf('compression', raw.compression, ['identity', 'gzip', 'deflate'] as const, CLIENT_DEFAULTS.compression),
  };
}
