import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Injectable, Module } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { describe, expect, it } from 'vitest';
import { MeshClientModule, MeshClientRegistry, MeshConfigError, type MeshClientOptions } from '@datapunk/mesh-client';
import { ECHO_PROTO, echoProto, loadServerProto } from '../support/protos.js';
import { moduleStartError } from '../support/test-app.js';

const dir = mkdtempSync(join(tmpdir(), 'mesh-proto-'));
const BROKEN = join(dir, 'broken.proto');
writeFileSync(BROKEN, 'syntax = "proto3";\npackage x;\nservice Oops { rpc A (Nope) returns }\n');

const good = (extra: Record<string, unknown> = {}): MeshClientOptions =>
  ({ name: 'inventory', target: '127.0.0.1:50051', proto: echoProto, insecure: true, ...extra }) as MeshClientOptions;

describe('option validation fails module start with MeshConfigError naming client and field', () => {
  it.each<[string, unknown, RegExp]>([
    ['bad target', { clients: [good({ target: 'http://inventory' })] }, /clients\[0\]\.target must be 'host:port'.*got 'http:\/\/inventory'/],
    ['target without port', { clients: [good({ target: 'inventory' })] }, /clients\[0\]\.target/],
    [
      'xds target without a bootstrap',
      { clients: [good({ target: 'xds:///inventory' })] },
      /clients\[0\]\.target is an xDS target but no xDS bootstrap was given: set GRPC_XDS_BOOTSTRAP/,
    ],
    ['duplicate name', { clients: [good(), good()] }, /clients\[1\]\.name must be unique.*got 'inventory'/],
    ['missing name', { clients: [good({ name: undefined })] }, /clients\[0\]\.name must be a name/],
    [
      'missing proto file',
      { clients: [good({ proto: { ...echoProto, path: join(dir, 'missing.proto') } })] },
      /clients\[0\]\.proto\.path cannot be read \(.*ENOENT/,
    ],
    [
      'unparsable proto',
      { clients: [good({ proto: { path: BROKEN, package: 'x', service: 'Oops' } })] },
      /clients\[0\]\.proto\.path cannot be parsed/,
    ],
    [
      'unknown service',
      { clients: [good({ proto: { ...echoProto, service: 'Echoo' } })] },
      /proto\.service names no service in the proto \(looked for 'mesh\.test\.Echoo'; found: mesh\.test\.Echo\)/,
    ],
    [
      'unknown package',
      { clients: [good({ proto: { ...echoProto, package: 'mesh.tset' } })] },
      /clients\[0\]\.proto\.package names no package of the proto \(packages with services: mesh\.test; did you mean 'mesh\.test'\?\), got 'mesh\.tset'/,
    ],
    [
      'unknown package of a loaded definition, without a service named',
      { clients: [good({ proto: { definition: loadServerProto(ECHO_PROTO), package: 'nope' } })] },
      /\.proto\.package names no package of the proto \(packages with services: mesh\.test\), got 'nope'/,
    ],
    ['maxMessageBytes 0', { clients: [good({ maxMessageBytes: 0 })] }, /clients\[0\]\.maxMessageBytes must be an integer > 0.*got 0/],
    ['maxMessageBytes negative', { clients: [good({ maxMessageBytes: -1 })] }, /\.maxMessageBytes must be an integer > 0/],
    ['timeoutMs 0', { clients: [good({ timeoutMs: 0 })] }, /clients\[0\]\.timeoutMs must be a number > 0.*got 0/],
    ['timeoutMs NaN', { clients: [good({ timeoutMs: Number.NaN })] }, /\.timeoutMs must be a number > 0.*got NaN/],
    ['method timeout', { clients: [good({ methods: { Unary: { timeoutMs: -1 } } })] }, /\.methods\.Unary\.timeoutMs must be a number > 0/],
    [
      'unknown method policy',
      { clients: [good({ methods: { GetItem: {} } })] },
      /\.methods\.GetItem is not an RPC of mesh\.test\.Echo \(RPCs: Unary, ServerStream, ClientStream, Bidi\)/,
    ],
    ['neither tls nor insecure', { clients: [good({ insecure: undefined })] }, /clients\[0\]\.tls is required unless insecure: true/],
    ['tls and insecure', { clients: [good({ tls: { ca: 'ca.pem' } })] }, /\.insecure cannot be true together with tls/],
    [
      'cert without key',
      { clients: [good({ insecure: false, tls: { ca: 'ca.pem', cert: 'c.pem' } })] },
      /\.tls\.key must be given together with the other of cert\/key/,
    ],
    ['insecure while mTLS is required', { requireMtls: true, clients: [good()] }, /clients\[0\]\.insecure: mutual TLS is required/],
    [
      'an expected server id given as host:port',
      { clients: [good({ insecure: false, tls: { ca: 'ca.pem', expectedServerIds: ['spiffe://mesh/ns/a/sa/inv', 'inventory:8443'] } })] },
      /clients\[0\]\.tls\.expectedServerIds\[1\] looks like host:port: a certificate names a host, not a port \(write 'inventory'\), got 'inventory:8443'/,
    ],
    [
      'expectedServerIds with a hole (a sparse array)',
      // eslint-disable-next-line no-sparse-arrays
      { clients: [good({ insecure: false, tls: { ca: 'ca.pem', expectedServerIds: ['spiffe://mesh/a', , 'b'] } })] },
      /clients\[0\]\.tls\.expectedServerIds must be a non-empty array of SAN URIs, DNS names or IP addresses/,
    ],
    [
      'an expected server id that is an IPv6 address in brackets',
      { clients: [good({ insecure: false, tls: { ca: 'ca.pem', expectedServerIds: ['[::1]'] } })] },
      /\.tls\.expectedServerIds\[0\] is an IPv6 address in brackets \(write '::1'\)/,
    ],
    ['typo in an option', { clients: [good({ timeout: 5 })] }, /clients\[0\]\.timeout is not an option \(did you mean 'timeoutMs'\?\)/],
    [
      'bad loadBalancing',
      { clients: [good({ loadBalancing: 'random' })] },
      /\.loadBalancing must be one of 'pick_first', 'round_robin', got 'random'/,
    ],
    ['bad compression', { clients: [good({ compression: 'br' })] }, /\.compression must be one of/],
    ['bad static metadata', { clients: [good({ metadata: { 'Bad Key': 'v' } })] }, /clients\[0\]\.metadata: metadata key 'Bad Key' is invalid/],
    ['clients missing', {}, /MeshClientModule options\.clients must be an array/],
    [
      'retry.maxAttempts 9',
      { clients: [good({ retry: { maxAttempts: 9 } })] },
      /^clients\[0\]\.retry\.maxAttempts must be an integer 1\.\.5, got 9 \(client 'inventory'\)$/,
    ],
    ['retry.jitter 2', { clients: [good({ retry: { jitter: 2 } })] }, /\.retry\.jitter must be a number 0\.\.1, got 2/],
    [
      'retry code name',
      { clients: [good({ retry: { retryableCodes: ['UNAVAIL'] } })] },
      /\.retry\.retryableCodes\[0\] must hold gRPC status codes.*got 'UNAVAIL'/,
    ],
    [
      'retry backoff order',
      { clients: [good({ retry: { initialBackoffMs: 500, maxBackoffMs: 100 } })] },
      /\.retry\.maxBackoffMs must be >= initialBackoffMs \(500\)/,
    ],
    ['retry budget', { clients: [good({ retry: { budget: { maxTokens: 0 } } })] }, /\.retry\.budget\.maxTokens must be a number > 0/],
    [
      'method retry',
      { clients: [good({ methods: { Unary: { retry: { maxAttempts: 0 } } } })] },
      /\.methods\.Unary\.retry\.maxAttempts must be an integer 1\.\.5/,
    ],
    [
      'breaker rate',
      { clients: [good({ breaker: { failureRateThreshold: 1.5 } })] },
      /\.breaker\.failureRateThreshold must be a number 0\.\.1, got 1\.5/,
    ],
    ['breaker scope', { clients: [good({ breaker: { scope: 'host' } })] }, /\.breaker\.scope must be one of 'client', 'method', got 'host'/],
    ['breaker minimumCalls', { clients: [good({ breaker: { minimumCalls: 0 } })] }, /\.breaker\.minimumCalls must be an integer 1\.\./],
    ['pool size', { clients: [good({ pool: { size: 65 } })] }, /\.pool\.size must be an integer 1\.\.64, got 65/],
    [
      'DNS service config switch with round_robin',
      { clients: [good({ loadBalancing: 'round_robin', channelOptions: { 'grpc.service_config_disable_resolution': 0 } })] },
      /'grpc\.service_config_disable_resolution' is set by the client with loadBalancing: 'round_robin'/,
    ],
    [
      'outlier detection without round_robin',
      { clients: [good({ outlierDetection: true })] },
      /\.outlierDetection needs loadBalancing: 'round_robin'/,
    ],
    [
      'outlier threshold',
      { clients: [good({ loadBalancing: 'round_robin', outlierDetection: { failurePercentage: { threshold: 101 } } })] },
      /\.outlierDetection\.failurePercentage\.threshold must be an integer 0\.\.100/,
    ],
    ['connectTimeoutMs', { clients: [good({ connectTimeoutMs: 0 })] }, /\.connectTimeoutMs must be an integer 1\.\./],
    ['drainTimeoutMs', { clients: [good({ drainTimeoutMs: -1 })] }, /\.drainTimeoutMs must be an integer 0\.\./],
    ['defaults apply and are checked', { defaults: { timeoutMs: -3 }, clients: [good()] }, /clients\[0\]\.timeoutMs must be a number > 0.*got -3/],
    [
      'a key of the context in contextExtraKeys',
      { contextExtraKeys: ['x-feature', 'authorization'], clients: [good()] },
      /options\.contextExtraKeys\[1\] must not be a key of the context itself \(whether it is taken from incoming requests is trustIncoming's say\), got 'authorization'/,
    ],
    [
      'a channel option grpc-js counts with, given as text',
      { clients: [good({ channelOptions: { 'grpc.per_rpc_retry_buffer_size': 'abc' } })] },
      /clients\[0\]\.channelOptions\.'grpc\.per_rpc_retry_buffer_size' must be a whole number >= 0 \(grpc-js does arithmetic with it\), got 'abc'/,
    ],
    [
      'a channel option grpc-js counts with, a fraction',
      { clients: [good({ channelOptions: { 'grpc.initial_reconnect_backoff_ms': 2.5 } })] },
      /channelOptions\.'grpc\.initial_reconnect_backoff_ms' must be a whole number of ms 1\.\.2147483647 \(0 reconnects in a busy loop.*got 2\.5/,
    ],
    [
      'a channel option grpc-js counts with, negative',
      { clients: [good({ channelOptions: { 'grpc.max_reconnect_backoff_ms': -1 } })] },
      /channelOptions\.'grpc\.max_reconnect_backoff_ms' must be a whole number of ms 1\.\..*got -1/,
    ],
    [
      'a time past what setTimeout can wait',
      { clients: [good({ channelOptions: { 'grpc.dns_min_time_between_resolutions_ms': 3e9 } })] },
      /channelOptions\.'grpc\.dns_min_time_between_resolutions_ms' must be a whole number of ms 0\.\.2147483647 \(setTimeout fires at once past it\), got 3000000000/,
    ],
    [
      'a switch that is neither 0 nor 1',
      { clients: [good({ channelOptions: { 'grpc.keepalive_permit_without_calls': 2 } })] },
      /channelOptions\.'grpc\.keepalive_permit_without_calls' must be 0 or 1 .*got 2/,
    ],
    [
      'an HTTP/2 window of 0 (no response could arrive)',
      { clients: [good({ channelOptions: { 'grpc-node.flow_control_window': '0' } })] },
      /channelOptions\.'grpc-node\.flow_control_window' must be a whole number of bytes 1\.\.2147483647 \(an HTTP\/2 window\), got '0'/,
    ],
    [
      'an empty default authority',
      { clients: [good({ channelOptions: { 'grpc.default_authority': '' } })] },
      /channelOptions\.'grpc\.default_authority' must be a non-empty string/,
    ],
    [
      'a service config grpc-js refuses when it makes the channel',
      { clients: [good({ channelOptions: { 'grpc.service_config': '{"loadBalancingConfig": 5}' } })] },
      /client 'inventory': channelOptions 'grpc\.service_config' is refused by grpc-js: .*[Ii]nvalid service config/,
    ],
    [
      'a service config with round_robin: the conflict, not the value, and the value not shown',
      { clients: [good({ loadBalancing: 'round_robin', channelOptions: { 'grpc.service_config': 'nope-not-json' } })] },
      /'grpc\.service_config' cannot be given with loadBalancing: 'round_robin' \(which writes the service config\), got '\(a service config\)'/,
    ],
    [
      'an unknown channel option, NaN',
      { clients: [good({ channelOptions: { 'grpc.some_future_option': Number.NaN } })] },
      /channelOptions\.'grpc\.some_future_option' must be a finite number, got NaN/,
    ],
    [
      'a channel option grpc-js reads as text, given a number',
      { clients: [good({ channelOptions: { 'grpc.default_authority': 443 } })] },
      /channelOptions\.'grpc\.default_authority' must be a string \(grpc-js reads it as text\), got 443/,
    ],
    [
      'a service config that does not parse',
      { clients: [good({ channelOptions: { 'grpc.service_config': '{methodConfig: []}' } })] },
      /channelOptions\.'grpc\.service_config' must be a gRPC service config in JSON, and does not parse: /,
    ],
    [
      'a service config that is no object',
      { clients: [good({ channelOptions: { 'grpc.service_config': '[]' } })] },
      /channelOptions\.'grpc\.service_config' must be a gRPC service config in JSON \(an object\), got '\[\]'/,
    ],
    [
      'a name in defaults',
      { defaults: { name: 'shared' }, clients: [good()] },
      /defaults\.name is not a default: each client names itself \(clients\[i\]\.name\), got 'shared'/,
    ],
  ])('%s', async (_label, options, message) => {
    const error = await moduleStartError(options);
    expect(error).toBeInstanceOf(MeshConfigError);
    expect((error as Error).message).toMatch(message);
  });

  it('never prints key material of a bad tls option', async () => {
    const error = await moduleStartError({ clients: [good({ insecure: false, tls: { ca: 'ca.pem', cert: 'c.pem', key: 12345 } })] });
    expect((error as Error).message).toMatch(/tls\.key must be a file path or PEM/);
    expect((error as Error).message).not.toContain('12345');
  });

  it("never prints a proxy's credentials given as a channel option of the wrong type", async () => {
    const error = await moduleStartError({ clients: [good({ channelOptions: { 'grpc.http_connect_creds': 98765432109 } })] });
    expect((error as Error).message).toMatch(
      /channelOptions\.'grpc\.http_connect_creds' must be a string \(grpc-js reads it as text\), got a number/,
    );
    expect((error as Error).message).not.toContain('98765432109');
  });

  it('does not mutate the caller options and merges defaults under each client', async () => {
    const options = { defaults: { timeoutMs: 1234 }, clients: [good()] };
    const snapshot = JSON.stringify(options);
    const moduleRef = await Test.createTestingModule({ imports: [MeshClientModule.forRoot(options)] }).compile();
    expect(JSON.stringify(options)).toBe(snapshot);
    expect(moduleRef.get(MeshClientRegistry).names()).toEqual(['inventory']);
    await moduleRef.close();
  });

  it('accepts the ends of API.md ranges: failureRateThreshold 0 and 1, retry.maxAttempts 1 and 5', async () => {
    for (const [failureRateThreshold, maxAttempts] of [
      [0, 1],
      [1, 5],
    ]) {
      const moduleRef = await Test.createTestingModule({
        imports: [MeshClientModule.forRoot({ clients: [good({ breaker: { failureRateThreshold }, retry: { maxAttempts } })] })],
      }).compile();
      expect(moduleRef.get(MeshClientRegistry).get('inventory').breakerState()).toBe('closed');
      await moduleRef.close();
    }
  });

  it('accepts a loaded package definition instead of a path', async () => {
    const definition = loadServerProto(ECHO_PROTO);
    const moduleRef = await Test.createTestingModule({
      imports: [MeshClientModule.forRoot({ clients: [good({ proto: { definition, package: 'mesh.test', service: 'Echo' } })] })],
    }).compile();
    expect(moduleRef.get(MeshClientRegistry).get('inventory').serviceName).toBe('mesh.test.Echo');
    await moduleRef.close();
  });
});

@Injectable()
class FakeConfig {
  readonly target = '127.0.0.1:50051';
}
@Module({ providers: [FakeConfig], exports: [FakeConfig] })
class FakeConfigModule {}

describe('forRootAsync', () => {
  it('builds the clients named in clientNames from an injected factory', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        MeshClientModule.forRootAsync({
          clientNames: ['inventory'],
          imports: [FakeConfigModule],
          inject: [FakeConfig],
          useFactory: async (config: FakeConfig) => ({ clients: [good({ target: config.target })] }),
        }),
      ],
    }).compile();
    expect(moduleRef.get(MeshClientRegistry).get('inventory').name).toBe('inventory');
    await moduleRef.close();
  });

  it('fails start when the factory returns other clients than clientNames lists', async () => {
    const error = await Test.createTestingModule({
      imports: [MeshClientModule.forRootAsync({ clientNames: ['inventory', 'billing'], useFactory: () => ({ clients: [good()] }) })],
    })
      .compile()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(MeshConfigError);
    expect((error as Error).message).toMatch(/clientNames .* must match; missing: billing/);
  });

  it('validates the factory result like forRoot', async () => {
    const error = await Test.createTestingModule({
      imports: [MeshClientModule.forRootAsync({ clientNames: ['inventory'], useFactory: () => ({ clients: [good({ timeoutMs: -1 })] }) })],
    })
      .compile()
      .catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/clients\[0\]\.timeoutMs must be a number > 0/);
  });
});

describe('MeshClientRegistry.get', () => {
  it('names the known clients when asked for an unknown one', async () => {
    const moduleRef = await Test.createTestingModule({ imports: [MeshClientModule.forRoot({ clients: [good()] })] }).compile();
    expect(() => moduleRef.get(MeshClientRegistry).get('billing')).toThrow(/no mesh client named 'billing' \(known: inventory\)/);
    await moduleRef.close();
  });
});
