import type { OptionChecks } from './option-checks.js';

/** grpc-js options this library sets itself, and the option that decides each. */
const OWNED: Record<string, string> = {
  'grpc.max_send_message_length': 'maxMessageBytes',
  'grpc.max_receive_message_length': 'maxMessageBytes',
  'grpc.keepalive_time_ms': 'keepalive.timeMs',
  'grpc.keepalive_timeout_ms': 'keepalive.timeoutMs',
  'grpc.client_idle_timeout_ms': 'idleTimeoutMs',
  'grpc.default_compression_algorithm': 'compression',
  'grpc.ssl_target_name_override': 'tls.serverName',
  'grpc.use_local_subchannel_pool': 'pool (each client owns its connections)',
  'grpc-node.retry_max_attempts_limit': 'retry (grpc-js never retries on its own here: one retry layer)',
};

/**
 * Validates `channelOptions`: further grpc-js channel options (`grpc.*`, `grpc-node.*`) passed as
 * they are. The ones this library sets are refused, naming the option that decides them; a service
 * config cannot be combined with `loadBalancing: 'round_robin'` (which writes one).
 */
export function resolveChannelOptions(
  check: OptionChecks,
  raw: unknown,
  loadBalancing: string,
): Readonly<Record<string, string | number>> | undefined {
  if (raw === undefined) return undefined;
  const options = check.object('channelOptions', raw);
  const at = check.at('channelOptions');
  for (const [key, value] of Object.entries(options)) {
    if (!/^grpc(-node)?\./.test(key)) at.fail(`'${key.slice(0, 64)}'`, "is no grpc-js channel option (they start with 'grpc.' or 'grpc-node.')", key);
    if (OWNED[key]) at.fail(`'${key}'`, `is set by the client: use ${OWNED[key]}`, value);
    if (typeof value !== 'string' && typeof value !== 'number') at.fail(`'${key}'`, 'must be a string or a number', value);
    if (key === 'grpc.service_config' && loadBalancing === 'round_robin')
      at.fail(`'${key}'`, "cannot be given with loadBalancing: 'round_robin' (which writes the service config)", '(a service config)');
    if (key === 'grpc.service_config_disable_resolution' && loadBalancing === 'round_robin')
      at.fail(`'${key}'`, "is set by the client with loadBalancing: 'round_robin' (its policy is not replaced by one from DNS)", value);
  }
  return Object.freeze({ ...options }) as Record<string, string | number>;
}
