import { MeshConfigError } from '../errors/mesh-config.error.js';
import type { MeshClientOptions } from '../config/mesh-client-options.interface.js';
import type { ClientsModuleGrpcEntry } from './clients-module.interface.js';

/** `Transport.GRPC` of @nestjs/microservices (not imported: the library does not depend on it). */
const TRANSPORT_GRPC = 4;
/** The names of Nest's `Transport` values, for the error naming another one. */
const TRANSPORTS = ['TCP', 'REDIS', 'NATS', 'MQTT', 'GRPC', 'RMQ', 'KAFKA'];
/** ClientGrpcProxy's target when `url` is not given. */
const NEST_DEFAULT_URL = 'localhost:5000';
/** Fields of ClientsModule's gRPC options that are mapped (see the function below). */
const KNOWN = new Set([
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
  'tls',
]);

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
    'give tls: { ca, cert, key } instead, beside options (a ChannelCredentials object cannot be checked at start, reloaded or bound to a server identity); insecure credentials map to insecure: true',
  protoLoader: 'mesh clients load protos with @grpc/proto-loader',
  onLoadPackageDefinition: 'is a server hook',
  gracefulShutdown: 'is a server option (mesh clients drain with drainTimeoutMs)',
};

function fail(name: string, field: string, why: string): never {
  throw new MeshConfigError(`MeshClientModule.fromClientsModule: client '${name}' ${field} ${why}`);
}

const isInsecure = (credentials: unknown): boolean => (credentials as { _isSecure?: () => boolean } | null)?._isSecure?.() === false;

/** How the client connects: its own `tls`, the defaults' one, or plaintext as ClientGrpc without credentials. */
function security(
  name: string,
  entryTls: unknown,
  optionsTls: unknown,
  credentials: unknown,
  defaults: Record<string, unknown>,
): Record<string, unknown> {
  if (entryTls !== undefined && optionsTls !== undefined) fail(name, 'tls', 'is given twice (beside options and in options.tls): give it once');
  const tls = entryTls ?? optionsTls;
  if (credentials !== undefined) {
    // insecure on purpose: it wins over defaults.tls, and contradicts the entry's own tls
    if (tls !== undefined) fail(name, 'options.credentials', 'are insecure while the entry gives tls: keep one of them');
    return { insecure: true, ...(defaults.tls === undefined ? {} : { tls: undefined }) };
  }
  if (tls !== undefined) return { tls };
  return defaults.tls === undefined && defaults.insecure === undefined ? { insecure: true } : {};
}

/**
 * The mesh client options of `ClientsModule.register([...])` gRPC entries: every field mapped or
 * refused by name. `url` becomes `target`, `package` + `protoPath` (or `packageDefinition`) +
 * `loader` the `proto` (its service: the package's only one, or `options.service`), equal
 * `maxSendMessageLength` / `maxReceiveMessageLength` become `maxMessageBytes`, `keepalive` and
 * `maxMetadataSize` keepalive and channel options, `channelOptions` pass through. `tls` (beside
 * `options`, or in it) is the client's TLS; without it, and without `tls` in `defaults` (the
 * module's client defaults), the client is plaintext as ClientGrpc is without credentials. Throws
 * MeshConfigError naming the entry and the field.
 */
export function meshClientsFromClientsModule(entries: readonly ClientsModuleGrpcEntry[], defaults: object = {}): MeshClientOptions[] {
  if (!Array.isArray(entries)) throw new MeshConfigError('MeshClientModule.fromClientsModule: give the array ClientsModule.register() takes');
  return entries.map((entry, i) => {
    if (typeof entry?.name !== 'string')
      throw new MeshConfigError(`MeshClientModule.fromClientsModule: entry ${String(i)} needs a string name (mesh clients are injected by name)`);
    const name = entry.name;
    const transport: unknown = entry.transport;
    if (transport !== undefined && transport !== TRANSPORT_GRPC) {
      const shown = typeof transport === 'number' && TRANSPORTS[transport] ? `Transport.${TRANSPORTS[transport]}` : String(transport);
      fail(name, 'transport', `is ${shown}: a mesh client speaks gRPC only; give Transport.GRPC, or keep this entry in ClientsModule.register`);
    }
    const o: Record<string, unknown> = { ...entry.options };
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
    Object.assign(client, security(name, entry.tls, o.tls, o.credentials, defaults as Record<string, unknown>));
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
    if (keepalive.keepaliveTimeMs === undefined && keepalive.keepaliveTimeoutMs !== undefined)
      fail(
        name,
        'options.keepalive.keepaliveTimeoutMs',
        'without keepaliveTimeMs sends no ping (in grpc-js either): give keepaliveTimeMs too, or leave it out',
      );
    if (keepalive.keepaliveTimeMs !== undefined) client.keepalive = { timeMs: keepalive.keepaliveTimeMs, timeoutMs: keepalive.keepaliveTimeoutMs };
    if (Object.keys(channelOptions).length > 0) client.channelOptions = channelOptions;
    const unknown = Object.keys(o).find((k) => !KNOWN.has(k) && REFUSED[k] === undefined);
    if (unknown) fail(name, `options.${unknown}`, 'is no gRPC client option of ClientsModule (TLS: tls: { ca, cert, key })');
    const extra = Object.keys(entry).find((k) => !['name', 'transport', 'options', 'tls'].includes(k));
    if (extra) fail(name, extra, 'is no field of a ClientsModule entry (name, transport, options) or of its mesh additions (tls)');
    return client as unknown as MeshClientOptions;
  });
}
