import { describe, expect, it } from 'vitest';
import { channelOptionsOf } from '../../libs/mesh-client/src/client/channels/channel.js';
import type { ResolvedClientOptions } from '../../libs/mesh-client/src/config/resolved-options.interface.js';
import { MeshConfigError } from '../../libs/mesh-client/src/errors/mesh-config.error.js';
import { OptionChecks } from '../../libs/mesh-client/src/options/option-checks.js';
import { resolveChannelOptions } from '../../libs/mesh-client/src/options/resolve-channel-options.js';

/** The fields channelOptionsOf reads, for a plain client with keepalive on. */
const resolved = (channelOptions: Record<string, unknown> = {}): ResolvedClientOptions =>
  ({
    channelOptions,
    keepalive: { timeMs: 10_000, timeoutMs: 2_000 },
    maxMessageBytes: 4_194_304,
    idleTimeoutMs: 300_000,
    compression: 'identity',
    loadBalancing: 'pick_first',
  }) as unknown as ResolvedClientOptions;

describe('channelOptionsOf: keepalive', () => {
  it('pings without calls by default, and a channel option saying no (as ClientsModule maps keepalivePermitWithoutCalls: 0) wins', () => {
    const on = channelOptionsOf(resolved());
    expect([on['grpc.keepalive_time_ms'], on['grpc.keepalive_timeout_ms'], on['grpc.keepalive_permit_without_calls']]).toEqual([10_000, 2_000, 1]);
    expect(channelOptionsOf(resolved({ 'grpc.keepalive_permit_without_calls': 0 }))['grpc.keepalive_permit_without_calls']).toBe(0);
  });
});

describe("channelOptionsOf: grpc-js's buffer for transparent retries", () => {
  it('is 128 KB per call (grpc-js: 1 MB, which made a stream of small messages quadratic), and a channel option sets it', () => {
    expect(channelOptionsOf(resolved())['grpc.per_rpc_retry_buffer_size']).toBe(128 * 1024);
    expect(channelOptionsOf(resolved({ 'grpc.per_rpc_retry_buffer_size': 4096 }))['grpc.per_rpc_retry_buffer_size']).toBe(4096);
  });
});

describe('resolveChannelOptions: values as grpc-js takes them', () => {
  const resolve = (options: Record<string, unknown>): Readonly<Record<string, string | number>> | undefined =>
    resolveChannelOptions(new OptionChecks('clients[0]'), options, 'pick_first');

  it('takes the decimal digits of a whole-number option as the number (grpc-js compares and subtracts with it)', () => {
    const resolved = resolve({ 'grpc.per_rpc_retry_buffer_size': '131072', 'grpc.enable_retries': '0', 'grpc.max_reconnect_backoff_ms': 5000 });
    expect(resolved).toEqual({ 'grpc.per_rpc_retry_buffer_size': 131072, 'grpc.enable_retries': 0, 'grpc.max_reconnect_backoff_ms': 5000 });
    expect(Object.isFrozen(resolved)).toBe(true);
  });

  it('keeps text options and options grpc-js does not know as given', () => {
    const config = JSON.stringify({ methodConfig: [] });
    expect(resolve({ 'grpc.primary_user_agent': 'ua', 'grpc.service_config': config, 'grpc.future_knob': '1.5x', 'grpc-node.other': 7.25 })).toEqual({
      'grpc.primary_user_agent': 'ua',
      'grpc.service_config': config,
      'grpc.future_knob': '1.5x',
      'grpc-node.other': 7.25,
    });
  });

  it.each([['1e3'], [' 42'], ['0x10'], ['12.0'], [''], ['9007199254740993'], ['-5']])('refuses %j for a whole-number option', (text) => {
    expect(() => resolve({ 'grpc.dns_min_time_between_resolutions_ms': text })).toThrow(MeshConfigError);
    expect(() => resolve({ 'grpc.dns_min_time_between_resolutions_ms': text })).toThrow(
      /clients\[0\]\.channelOptions\.'grpc\.dns_min_time_between_resolutions_ms' must be a whole number of ms 0\.\.2147483647/,
    );
  });

  it('holds each option to the range grpc-js can use: switches 0/1, timers up to 2^31 - 1 ms, a window of at least a byte', () => {
    expect(resolve({ 'grpc.enable_retries': 1, 'grpc.max_reconnect_backoff_ms': 2_147_483_647, 'grpc-node.flow_control_window': '65535' })).toEqual({
      'grpc.enable_retries': 1,
      'grpc.max_reconnect_backoff_ms': 2_147_483_647,
      'grpc-node.flow_control_window': 65535,
    });
    expect(() => resolve({ 'grpc.enable_retries': 2 })).toThrow(/'grpc\.enable_retries' must be 0 or 1/);
    expect(() => resolve({ 'grpc.max_reconnect_backoff_ms': 2_147_483_648 })).toThrow(/must be a whole number of ms 1\.\.2147483647/);
    expect(() => resolve({ 'grpc.initial_reconnect_backoff_ms': 0 })).toThrow(/0 reconnects in a busy loop/);
    expect(() => resolve({ 'grpc-node.flow_control_window': 2 ** 31 })).toThrow(/1\.\.2147483647 \(an HTTP\/2 window\)/);
    expect(() => resolve({ 'grpc.lb.ring_hash.ring_size_cap': 0 })).toThrow(/must be a whole number >= 1/);
  });

  it('passes an option grpc-js 1.14 does not read as given (ClientsModule maps maxMetadataSize to grpc.max_metadata_size)', () => {
    expect(resolve({ 'grpc.max_metadata_size': -1 })).toEqual({ 'grpc.max_metadata_size': -1 });
  });

  it('refuses Infinity for any option', () => {
    expect(() => resolve({ 'grpc.anything': Number.POSITIVE_INFINITY })).toThrow(/'grpc\.anything' must be a finite number, got Infinity/);
  });
});
