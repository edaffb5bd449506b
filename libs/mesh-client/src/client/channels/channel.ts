import type { TlsMaterial } from '../../config/policies.js';
import { Client, credentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js';
import { describeThrown } from '../../errors/describe-thrown.js';
import { MeshConfigError } from '../../errors/mesh-config.error.js';
import type { ResolvedClientOptions } from '../../config/resolved-options.interface.js';
import { X509Certificate } from 'node:crypto';
import { isIP } from 'node:net';
import { endpointOf, isXdsTarget } from '../../config/target.js';
import { createTlsCredentials, loadTlsMaterial } from '../../security/tls-credentials.js';
import { expectServerIdentity } from '../../security/server-ids.js';
import { TlsRefusalCheck } from '../../security/tls-refusal.js';
import type { ChannelSet } from './channel-pool.js';
import { SPREAD_ROUND_ROBIN, registerSpreadRoundRobin } from './spread-round-robin.js';
import { SPREADS_OPTION, Spreads } from './spreads.js';
import { installBootstrap } from '../../xds/xds-bootstrap.js';
import { registerXds } from '../../xds/xds-package.js';

const COMPRESSION = { identity: 0, deflate: 1, gzip: 2 } as const;
/** grpc-js's buffer for transparent retries, per call (see channelOptionsOf). */
const RETRY_BUFFER_BYTES = 128 * 1024;

/** grpc-js channel options for a resolved client. */
export function channelOptionsOf(options: ResolvedClientOptions): ChannelOptions {
  const channel: ChannelOptions = {
    ...options.channelOptions,
    'grpc.max_send_message_length': options.maxMessageBytes,
    'grpc.max_receive_message_length': options.maxMessageBytes,
    // Each client owns its connections: closing it really closes them, and no other client's
    // options leak into them through grpc-js's process-wide subchannel pool.
    'grpc.use_local_subchannel_pool': 1,
    'grpc.client_idle_timeout_ms': options.idleTimeoutMs,
    // One retry layer: grpc-js would also retry or hedge on its own when the target's service
    // config (DNS TXT, an xDS route) asks, multiplying with this client's attempts. Capping its
    // attempts at one keeps its transparent retries (streams refused before reaching the server).
    'grpc-node.retry_max_attempts_limit': 1,
  };
  // What grpc-js keeps of a call's messages for its transparent retry (default 1 MB): each message
  // the wire takes copies that list, so a stream of small messages pushed faster than the wire
  // (160,000 of 8 bytes) took 84 s to send, 8 s with 128 KB. Unary requests up to that size keep it.
  channel['grpc.per_rpc_retry_buffer_size'] ??= RETRY_BUFFER_BYTES;
  // Set only when compressing: with the option present grpc-js builds a costlier filter per call.
  if (options.compression !== 'identity') channel['grpc.default_compression_algorithm'] = COMPRESSION[options.compression];
  // For xds targets the control plane's clusters decide load balancing and outlier detection.
  // round_robin is grpc-js's, with hedged copies sent to another endpoint (spread-round-robin.ts).
  if (options.loadBalancing === 'round_robin' && !options.xds) {
    registerSpreadRoundRobin();
    const roundRobin = { [SPREAD_ROUND_ROBIN]: {} };
    const policy = options.outlierDetection ? { outlier_detection: { ...options.outlierDetection, child_policy: [roundRobin] } } : roundRobin;
    channel['grpc.service_config'] = JSON.stringify({ loadBalancingConfig: [policy] });
    // the client's choice stands: a service config from DNS TXT records would replace the policy
    // (and its picker, which keeps the spread key off the wire)
    channel['grpc.service_config_disable_resolution'] = 1;
    // the client's hedged calls, for their copies' picks (one object for the pool's channels)
    channel[SPREADS_OPTION] = new Spreads();
  }
  if (options.keepalive) {
    channel['grpc.keepalive_time_ms'] = options.keepalive.timeMs;
    channel['grpc.keepalive_timeout_ms'] = options.keepalive.timeoutMs;
    // pings also without calls, unless channelOptions (or a ClientsModule entry's keepalivePermitWithoutCalls) said otherwise
    channel['grpc.keepalive_permit_without_calls'] ??= 1;
  }
  if (options.tls?.serverName) channel['grpc.ssl_target_name_override'] = options.tls.serverName;
  return channel;
}

/** Host and port a TLS refusal probe connects to: the target's (the first of an address list). */
function probeAddressOf(target: string): { host: string; port: number } | undefined {
  const first = target.replace(/^ipv[46]:/, '').split(',')[0]!;
  const { address, port } = endpointOf(first);
  if (port === undefined || isXdsTarget(target) || target.startsWith('unix:')) return undefined;
  return { host: address.replace(/^\[|\]$/g, ''), port };
}

/** When a PEM certificate expires (epoch ms), or undefined when it cannot be read. */
function expiryOf(cert: Buffer | string | null | undefined): number | undefined {
  if (!cert) return undefined;
  try {
    const at = Date.parse(new X509Certificate(cert).validTo);
    return Number.isNaN(at) ? undefined : at;
  } catch {
    return undefined;
  }
}

function tlsRefusalCheckOf(options: ResolvedClientOptions, material: TlsMaterial): TlsRefusalCheck | undefined {
  const tls = options.tls!;
  const address = probeAddressOf(options.target);
  if (!address) return undefined;
  const servername = tls.serverName ?? (isIP(address.host) ? undefined : address.host);
  return new TlsRefusalCheck({
    ...address,
    presentsCertificate: material.cert !== null,
    certificateExpiresAt: expiryOf(material.cert),
    options: {
      ca: material.ca,
      cert: material.cert ?? undefined,
      key: material.key ?? undefined,
      servername,
      ...(tls.expectedServerIds ? { checkServerIdentity: expectServerIdentity(tls.expectedServerIds) } : {}),
    },
  });
}

/**
 * One grpc-js client. grpc-js checks a service config's content (a policy, a retry or hedging
 * policy, a timeout) when it makes the channel: what it refuses in one the application gave
 * becomes a MeshConfigError naming the client and the option, at start.
 */
function newClient(options: ResolvedClientOptions, channelCredentials: ChannelCredentials, channelOptions: ChannelOptions): Client {
  try {
    return new Client(options.target, channelCredentials, channelOptions);
  } catch (error) {
    const reason = describeThrown(error);
    if (options.channelOptions?.['grpc.service_config'] === undefined || !/service config/i.test(reason)) throw error;
    throw new MeshConfigError(`client '${options.name}': channelOptions 'grpc.service_config' is refused by grpc-js: ${reason}`, { cause: error });
  }
}

/**
 * The grpc-js clients (channels) of a resolved client, `poolSize` of them. Each has its own
 * subchannel pool, so each is its own HTTP/2 connection. They connect lazily, on first use.
 */
export function createChannels(options: ResolvedClientOptions, material: TlsMaterial | undefined): ChannelSet {
  if (options.xds) {
    installBootstrap(options.xds);
    registerXds();
  }
  const tls = options.tls ? (material ?? loadTlsMaterial(options.tls)) : undefined;
  const channelCredentials = tls ? createTlsCredentials(options.tls!, tls) : credentials.createInsecure();
  const channelOptions = channelOptionsOf(options);
  const clients = Array.from({ length: options.poolSize }, () => newClient(options, channelCredentials, channelOptions));
  return {
    clients,
    tls: tls !== undefined,
    tlsRefusal: tls ? tlsRefusalCheckOf(options, tls) : undefined,
    spreads: channelOptions[SPREADS_OPTION] as Spreads | undefined,
  };
}
