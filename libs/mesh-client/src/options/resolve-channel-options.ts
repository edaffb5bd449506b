import { MAX_TIMER_MS, type OptionChecks } from './option-checks.js';

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

/** grpc-js 1.14's channel options that take text, and whether they may be empty. */
const TEXT: Record<string, { empty: boolean }> = {
  'grpc.primary_user_agent': { empty: true },
  'grpc.secondary_user_agent': { empty: true },
  'grpc.default_authority': { empty: false },
  'grpc.service_config': { empty: false },
  'grpc.http_connect_target': { empty: false },
  'grpc.http_connect_creds': { empty: false },
};

/** A whole-number option's range, and what its values are (for the message). */
interface Whole {
  readonly min: number;
  readonly max: number;
  readonly what: string;
}
const SWITCH: Whole = { min: 0, max: 1, what: '0 or 1 (grpc-js reads some switches as === 1, others as !== 0)' };
/** A time grpc-js hands to setTimeout, which fires at once past 2^31 - 1 ms. */
const TIME: Whole = { min: 0, max: MAX_TIMER_MS, what: `a whole number of ms 0..${String(MAX_TIMER_MS)} (setTimeout fires at once past it)` };
/** A reconnect backoff: grpc-js multiplies it, so 0 stays 0 and the channel reconnects in a busy loop. */
const BACKOFF: Whole = {
  min: 1,
  max: MAX_TIMER_MS,
  what: `a whole number of ms 1..${String(MAX_TIMER_MS)} (0 reconnects in a busy loop; setTimeout fires at once past the top)`,
};
const COUNT: Whole = { min: 0, max: Number.MAX_SAFE_INTEGER, what: 'a whole number >= 0 (grpc-js does arithmetic with it)' };
const POSITIVE: Whole = { min: 1, max: Number.MAX_SAFE_INTEGER, what: 'a whole number >= 1' };

/** grpc-js 1.14's channel options that take a whole number (text, NaN or a fraction there turns a limit off, or the channel). */
const WHOLE: Record<string, Whole> = {
  'grpc.keepalive_permit_without_calls': SWITCH,
  'grpc.enable_http_proxy': SWITCH,
  'grpc.enable_channelz': SWITCH,
  'grpc.enable_retries': SWITCH,
  'grpc.service_config_disable_resolution': SWITCH,
  'grpc-node.tls_enable_trace': SWITCH,
  'grpc.server_call_metric_recording': SWITCH,
  'grpc.initial_reconnect_backoff_ms': BACKOFF,
  'grpc.max_reconnect_backoff_ms': BACKOFF,
  'grpc.dns_min_time_between_resolutions_ms': TIME,
  'grpc.max_connection_age_ms': TIME,
  'grpc.max_connection_age_grace_ms': TIME,
  'grpc.max_connection_idle_ms': TIME,
  'grpc.max_concurrent_streams': COUNT,
  'grpc.per_rpc_retry_buffer_size': COUNT,
  'grpc.retry_buffer_size': COUNT,
  'grpc-node.max_session_memory': POSITIVE,
  'grpc.lb.ring_hash.ring_size_cap': POSITIVE,
  // HTTP/2's initial window: 0 lets no response through (every call waits for its deadline), past 2^31 - 1 Node refuses the session
  'grpc-node.flow_control_window': { min: 1, max: 2 ** 31 - 1, what: 'a whole number of bytes 1..2147483647 (an HTTP/2 window)' },
};

/** Values that may hold a credential: never printed. */
const SECRET = new Set(['grpc.http_connect_creds']);

/** A whole number in `range`, given as a number or as its decimal digits (read from the environment, say). */
function wholeNumber(value: string | number, range: Whole): number | undefined {
  const n = typeof value === 'number' ? value : /^\d{1,16}$/.test(value) ? Number(value) : Number.NaN;
  return Number.isSafeInteger(n) && n >= range.min && n <= range.max ? n : undefined;
}

/** `value` as grpc-js takes option `key` (digits of a whole number become the number), or why it does not fit. */
function checkedValue(key: string, value: unknown): { value: string | number } | { problem: string } {
  if (typeof value !== 'string' && typeof value !== 'number') return { problem: 'must be a string or a number' };
  if (typeof value === 'number' && !Number.isFinite(value)) return { problem: 'must be a finite number' };
  const range = WHOLE[key];
  if (range) {
    const n = wholeNumber(value, range);
    return n === undefined ? { problem: `must be ${range.what}` } : { value: n };
  }
  const text = TEXT[key];
  if (text && typeof value !== 'string') return { problem: 'must be a string (grpc-js reads it as text)' };
  if (text && !text.empty && value === '') return { problem: 'must be a non-empty string (grpc-js ignores an empty one)' };
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
 * checked against what grpc-js does with them: a whole number in its range where it counts (its
 * decimal digits are taken as the number; other text, NaN or a fraction turn a grpc-js limit off),
 * 0 or 1 for a switch, a time setTimeout can wait, text where it reads text, a service config that
 * parses as a JSON object (grpc-js checks the rest when the channels are made: see createChannels).
 * A proxy's credentials are never shown.
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
    if (key === 'grpc.service_config' && loadBalancing === 'round_robin')
      at.fail(`'${key}'`, "cannot be given with loadBalancing: 'round_robin' (which writes the service config)", '(a service config)');
    if (key === 'grpc.service_config_disable_resolution' && loadBalancing === 'round_robin')
      at.fail(`'${key}'`, "is set by the client with loadBalancing: 'round_robin' (its policy is not replaced by one from DNS)", value);
    const taken = checkedValue(key, value);
    if ('problem' in taken) return at.fail(`'${key}'`, taken.problem, value, { secret: SECRET.has(key) });
    checked[key] = taken.value;
  }
  return Object.freeze(checked);
}
