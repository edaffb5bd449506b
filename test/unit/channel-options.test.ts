import { describe, expect, it } from 'vitest';
import { channelOptionsOf } from '../../libs/mesh-client/src/client/channels/channel.js';
import type { ResolvedClientOptions } from '../../libs/mesh-client/src/config/resolved-options.interface.js';

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
