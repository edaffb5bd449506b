import { MeshConfigError } from '../errors/mesh-config.error.js';
import type { MeshClientOptions } from '../config/mesh-client-options.interface.js';

/** `Transport.GRPC` of @nestjs/microservices (not imported: the library does not depend on it). */
const TRANSPORT_GRPC = 4;
/** ClientGrpcProxy's target when `url` is not given. */
const NEST_DEFAULT_URL = 'localhost:5000';

/** One entry of `ClientsModule.register([...])` for the gRPC transport. */
export interface ClientsModuleGrpcEntry {
  name: string | symbol;
  transport?: unknown;
  options?: Record<string, unknown>;
}

/** Nest's keepalive options and the grpc-js channel option each stands for. */
const KEEPALIVE_CHANNEL_OPTIONS: Record<string, string> = {
  keepalivePermitWithoutCalls: 'grpc.keepalive_permit_without_calls',
  http2MaxPingsWithoutData: 'grpc.http2.max_pings_without_data',
  http2MinTimeBetweenPingsMs: 'grpc.http2.min_time_between_pings_ms',
  http2MinPingIntervalWithoutDataMs: 'grpc.http2.min_ping_interval_without_data_ms',
  http2MaxPingStrikes: 'grpc.http2.max_ping_strikes',
};

/** Fields of ClientsModule's gRPC options that mesh clients have no use for, and why. */
const REFUSED: Record<string, string> = {
  credentials:
    'give tls: { ca, cert, key } instead (a ChannelCredentials object cannot be checked at start, reloaded or bound to a server identity); insecure credentials map to insecure: true',
  protoLoader: 'mesh clients load protos with @grpc/proto-loader',
  onLoadPackageDefinition: 'is a server hook',
  gracefulShutdown: 'is a server option (mesh clients drain with drainTimeoutMs)',
};

function fail(name: string, field: string, why: string): never {
  throw new MeshConfigError(`MeshClientModule.fromClientsModule: client '${name}' ${field} ${why}`);
}

const isInsecure = (credentials: unknown): boolean => (credentials as { _isSecure?: () => boolean } | null)?._isSecure?.() === false;

/**
 * The mesh client options of `ClientsModule.register([...])` gRPC entries: every field mapped or
 * refused by name. `url` becomes `target`, `package` + `protoPath` (or `packageDefinition`) +
 * `loader` the `proto` (its service: the package's only one, or `options.service`), equal
 * `maxSendMessageLength` / `maxReceiveMessageLength` become `maxMessageBytes`, `keepalive` and
 * `maxMetadataSize` keepalive and channel options, `channelOptions` pass through. Throws
 * MeshConfigError naming the entry and the field.
 */
export function meshClientsFromClientsModule(entries: readonly ClientsModuleGrpcEntry[]): MeshClientOptions[] {
  if (!Array.isArray(entries)) throw new MeshConfigError('MeshClientModule.fromClientsModule: give the array ClientsModule.register() takes');
  return entries.map((entry, i) => {
    if (typeof entry?.name !== 'string')
      throw new MeshConfigError(`MeshClientModule.fromClientsModule: entry ${String(i)} needs a string name (mesh clients are injected by name)`);
    const name = entry.name;
    if (entry.transport !== undefined && entry.transport !== TRANSPORT_GRPC) fail(name, 'transport', 'must be Transport.GRPC');
    const o = { ...entry.options };
    const client: Record<string, unknown> = { name, target: o.url ?? NEST_DEFAULT_URL };
    const channelOptions: Record<string, unknown> = { ...(o.channelOptions as Record<string, unknown> | undefined) };
    for (const [field, why] of Object.entries(REFUSED)) {
      if (o[field] === undefined) continue;
      if (field === 'credentials' && isInsecure(o.credentials)) continue;
      fail(name, `options.${field}`, why);
    }
    if (Array.isArray(o.package) && o.package.length !== 1)
      fail(name, 'options.package', 'must name one package: a mesh client is one service (register one entry per service)');
    const pkg = Array.isArray(o.package) ? (o.package[0] as unknown) : o.package;
    const service = typeof o.service === 'string' ? o.service : undefined;
    client.proto = o.packageDefinition
      ? { definition: o.packageDefinition, package: pkg, ...(service ? { service } : {}) }
      : { path: o.protoPath, package: pkg, ...(service ? { service } : {}), ...(o.loader ? { loader: o.loader } : {}) };
    if (o.credentials === undefined || isInsecure(o.credentials)) client.insecure = true;
    const send = o.maxSendMessageLength;
    const receive = o.maxReceiveMessageLength;
    if (send !== undefined && receive !== undefined && send !== receive)
      fail(name, 'options.maxSendMessageLength', 'differs from maxReceiveMessageLength: a mesh client has one maxMessageBytes for both');
    if ((send ?? receive) !== undefined) client.maxMessageBytes = send ?? receive;
    if (o.maxMetadataSize !== undefined) channelOptions['grpc.max_metadata_size'] = o.maxMetadataSize;
    const keepalive = (o.keepalive ?? {}) as Record<string, unknown>;
    for (const [key, value] of Object.entries(keepalive)) {
      if (key === 'keepaliveTimeMs' || key === 'keepaliveTimeoutMs') continue;
      const option = KEEPALIVE_CHANNEL_OPTIONS[key];
      if (!option) fail(name, `options.keepalive.${key}`, 'is no keepalive option of ClientGrpcProxy');
      channelOptions[option] = value;
    }
    if (keepalive.keepaliveTimeMs !== undefined) client.keepalive = { timeMs: keepalive.keepaliveTimeMs, timeoutMs: keepalive.keepaliveTimeoutMs };
    if (Object.keys(channelOptions).length > 0) client.channelOptions = channelOptions;
    const known = new Set([
      'url',
      'package',
      'protoPath',
      'packageDefinition',
      'loader',
      'service',
      'credentials',
      'maxSendMessageLength',
      'maxReceiveMessageLength',
      'maxMetadataSize',
      'keepalive',
      'channelOptions',
    ]);
    const unknown = Object.keys(o).find((k) => !known.has(k) && REFUSED[k] === undefined);
    if (unknown) fail(name, `options.${unknown}`, 'is no gRPC client option of ClientsModule');
    return client as unknown as MeshClientOptions;
  });
}
