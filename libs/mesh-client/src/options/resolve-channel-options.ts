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

/** grpc-js 1.14's channel options that take text; every other option it knows takes a whole number. */
const TEXT = new Set([
  'grpc.primary_user_agent',
  'grpc.secondary_user_agent',
  'grpc.default_authority',
  'grpc.service_config',
  'grpc.http_connect_target',
  'grpc.http_connect_creds',
]);

/** grpc-js 1.14's channel options that take a whole number (grpc-js does arithmetic with them: text or NaN turns a limit off). */
const WHOLE = new Set([
  'grpc.keepalive_permit_without_calls',
  'grpc.max_concurrent_streams',
  'grpc.initial_reconnect_backoff_ms',
  'grpc.max_reconnect_backoff_ms',
  'grpc.enable_http_proxy',
  'grpc.enable_channelz',
  'grpc.dns_min_time_between_resolutions_ms',
  'grpc.enable_retries',
  'grpc.per_rpc_retry_buffer_size',
  'grpc.retry_buffer_size',
  'grpc.max_connection_age_ms',
  'grpc.max_connection_age_grace_ms',
  'grpc.max_connection_idle_ms',
  'grpc-node.max_session_memory',
  'grpc.service_config_disable_resolution',
  'grpc-node.tls_enable_trace',
  'grpc.lb.ring_hash.ring_size_cap',
  'grpc-node.flow_control_window',
  'grpc.server_call_metric_recording',
  'grpc.max_metadata_size',
]);

/** Values that may hold a credential: never printed. */
const SECRET = new Set(['grpc.http_connect_creds']);

/** A whole number >= 0, given as a number or as its decimal digits (read from the environment, say). */
function wholeNumber(value: string | number): number | undefined {
  const n = typeof value === 'number' ? value : /^\d{1,15}$/.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(n) && n >= 0 ? n : undefined;
}

/** `value` as grpc-js takes option `key` (digits of a whole number become the number), or why it does not fit. */
function checkedValue(key: string, value: unknown): { value: string | number } | { problem: string } {
  if (typeof value !== 'string' && typeof value !== 'number') return { problem: 'must be a string or a number' };
  if (typeof value === 'number' && !Number.isFinite(value)) return { problem: 'must be a finite number' };
  if (WHOLE.has(key)) {
    const n = wholeNumber(value);
    return n === undefined ? { problem: 'must be a whole number >= 0 (grpc-js does arithmetic with it)' } : { value: n };
  }
  if (TEXT.has(key) && typeof value !== 'string') return { problem: 'must be a string (grpc-js reads it as text)' };
  if (key === 'grpc.service_config') {
    let config: unknown;
    try {
      config = JSON.parse(value as string);
    } catch (error) {
      return { problem: `must be a gRPC service config in JSON, and does not parse: ${(error as Error).message.slice(0, 120)}` };
    }
    if (typeof config !== 'object' || config === null || Array.isArray(config))
      return { problem: 'must be a gRPC service config in JSON (an object)' };
  }
  return { value };
}

/**
 * Validates `channelOptions`: further grpc-js channel options (`grpc.*`, `grpc-node.*`) passed as
 * they are. The ones this library sets are refused, naming the option that decides them; a service
 * config cannot be combined with `loadBalancing: 'round_robin'` (which writes one). Values are
 * checked against what grpc-js does with them: a whole number where it counts (its decimal digits
 * are taken as the number; other text, NaN or a fraction turn a grpc-js limit off), text where it
 * reads text, a service config that parses as a JSON object. A proxy's credentials are never shown.
 */
export function resolveChannelOptions(
  check: OptionChecks,
  raw: unknown,
  loadBalancing: string,
): Readonly<Record<string, string | number>> | undefined {
  if (raw === undefined) return undefined;
  const options = check.object('channelOptions', raw);
  const at = check.at('channelOptions');
  const checked: Record<string, string | number> = {};
  for (const [key, value] of Object.entries(options)) {
    if (!/^grpc(-node)?\./.test(key)) at.fail(`'${key.slice(0, 64)}'`, "is no grpc-js channel option (they start with 'grpc.' or 'grpc-node.')", key);
    if (OWNED[key]) at.fail(`'${key}'`, `is set by the client: use ${OWNED[key]}`, value);
    const taken = checkedValue(key, value);
    if ('problem' in taken) return at.fail(`'${key}'`, taken.problem, value, { secret: SECRET.has(key) });
    checked[key] = taken.value;
    if (key === 'grpc.service_config' && loadBalancing === 'round_robin')
      at.fail(`'${key}'`, "cannot be given with loadBalancing: 'round_robin' (which writes the service config)", '(a service config)');
    if (key === 'grpc.service_config_disable_resolution' && loadBalancing === 'round_robin')
      at.fail(`'${key}'`, "is set by the client with loadBalancing: 'round_robin' (its policy is not replaced by one from DNS)", value);
  }
  return Object.freeze(checked);
}
