import { X509Certificate } from 'node:crypto';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Transport } from '@nestjs/microservices';
import { MeshClientModule, MeshClientRegistry, isMeshClientError, isMeshConfigError, type MeshClientOptions } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { createTestPki, serverCredentials, type TestPki } from '../support/pki.js';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { ECHO_PROTO } from '../support/protos.js';
import { createTestApp, dynamicModuleStartError, echoClient, moduleStartError } from '../support/test-app.js';

/** What a real server certificate of the mesh may present: Kubernetes names, a wildcard, an underscore, IPs, SPIFFE and other URIs. */
const SAN = {
  dns: [
    'inventory.shop.svc.cluster.local',
    '*.mesh.local',
    '_grpc.inventory.mesh.local',
    'Upper.Mesh.Local',
    'web-0.nginx.default.svc',
    'xn--bcher-kva.example',
  ],
  ips: ['127.0.0.1', '10.0.0.7', 'fe80::1', '::ffff:a00:8'],
  uris: [
    'spiffe://cluster.local/ns/default/sa/inventory',
    'spiffe://7f9a1a8c-8b5e-41d5-9e3f-1e0f8b7f6a4c.consul/ns/default/dc/dc1/svc/web',
    'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66',
    // a URI (RFC 3986 allows sub-delims such as ',' in a path) the certificate holds; Node quotes it when it prints the SAN list
    'urn:example:shard=1,2',
    'tel:5551234',
  ],
};

describe('tls.expectedServerIds checked at start vs what a real certificate presents', () => {
  let pki: TestPki;
  let server: EchoServer;
  let presented: string;

  const tlsClient = (ids: unknown, extra: Partial<MeshClientOptions> = {}): MeshClientOptions =>
    echoClient(server ? server.target : '127.0.0.1:1', {
      insecure: undefined,
      retry: false,
      tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key, serverName: 'localhost', expectedServerIds: ids as string[] },
      ...extra,
    });

  /** The outcome of one unary call with `ids`: 'ok', the start error, or the call's error. */
  async function handshake(ids: string[]): Promise<'ok' | Error> {
    const startError = await moduleStartError({ clients: [tlsClient(ids)] });
    if (startError) return startError as Error;
    const app = await createTestApp({ clients: [tlsClient(ids)] });
    try {
      await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary<EchoRequest, EchoReply>('Unary', { message: 'x' }, { timeoutMs: 3000 }));
      return 'ok';
    } catch (error) {
      return error as Error;
    } finally {
      await app.close();
    }
  }

  beforeAll(async () => {
    pki = await createTestPki();
    const pair = await pki.ca.issue({ commonName: 'inventory', ...SAN, usage: 'server' });
    presented = new X509Certificate(pair.cert).subjectAltName ?? '';
    server = await startEchoServer({ credentials: serverCredentials(pki, pair) });
  });
  afterAll(async () => {
    await server.stop();
  });

  it.each([
    ['a Kubernetes service name', 'inventory.shop.svc.cluster.local'],
    ['the same in upper case, with the root dot', 'INVENTORY.shop.svc.cluster.local.'],
    ['a wildcard, compared as written', '*.mesh.local'],
    ['a name with an underscore', '_grpc.inventory.mesh.local'],
    ['a name the certificate holds in upper case', 'upper.mesh.local'],
    ['a StatefulSet pod name', 'web-0.nginx.default.svc'],
    ['a punycode name', 'xn--bcher-kva.example'],
    ['an IPv4 address', '10.0.0.7'],
    ['an IPv6 address, written in full', 'FE80:0:0:0:0:0:0:1'],
    ['an IPv4-mapped IPv6 address, dotted', '::ffff:10.0.0.8'],
    ['an Istio SPIFFE id', 'spiffe://cluster.local/ns/default/sa/inventory'],
    ['a Consul SPIFFE id', 'spiffe://7f9a1a8c-8b5e-41d5-9e3f-1e0f8b7f6a4c.consul/ns/default/dc/dc1/svc/web'],
    ['a URN', 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66'],
  ])('%s the certificate presents: taken at start and matched at the handshake (holds)', async (_what, id) => {
    expect(await handshake([id])).toBe('ok');
  });

  it.each([
    ['a name the wildcard covers (wildcards are not expanded)', 'inventory.mesh.local'],
    ['the SPIFFE id written as a DNS name', 'cluster.local'],
    ['another IP', '10.0.0.9'],
  ])('%s: taken at start, refused at the handshake as a mismatch (holds)', async (_what, id) => {
    const outcome = await handshake([id]);
    expect(isMeshClientError(outcome) && outcome.category).toBe('tls');
    expect((outcome as Error).message).toMatch(/wrong identity/);
  });

  it('a URI with a comma the certificate really presents: start takes it and the handshake matches it', async () => {
    expect(presented).toContain('urn:example:shard=1');
    const outcome = await handshake(['urn:example:shard=1,2']);
    expect(outcome instanceof Error ? outcome.message : outcome).toBe('ok');
  });

  it.each([
    ['host:port whose host is a mistyped IPv4 address', '10.0.0.256:50051'],
    ['host:port whose host has a zone', '[fe80::1%eth0]:8443'],
    ['host:port whose host is Unicode', 'bücher.example:8443'],
    ['host:port whose host has a path', 'mesh.local/inventory:8443'],
    ["a bad name ending in ':'", 'bad..name:'],
  ])('%s: refused naming the entry; what it says to write, when it says, is itself taken', async (_what, id) => {
    const error = await moduleStartError({ clients: [tlsClient(['spiffe://cluster.local/ns/default/sa/inventory', id])] });
    expect(isMeshConfigError(error)).toBe(true);
    const message = (error as Error).message;
    expect(message).toContain('clients[0].tls.expectedServerIds[1] ');
    const written = /\(write '([^']*)'\)/.exec(message)?.[1];
    if (written === undefined) return; // no simple advice (a mistyped address, a path): the message says what is wrong
    const again = await moduleStartError({ clients: [tlsClient([written])] });
    expect(again === undefined ? 'taken' : (again as Error).message).toBe('taken');
  });

  it('a very long host:port: the start error stays short (a bad value is shown cut to 60 characters elsewhere)', async () => {
    const id = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(40)}.example:8443`.repeat(1) + '';
    const long = `${'x'.repeat(5000)}:8443`;
    for (const bad of [id, long]) {
      const error = await moduleStartError({ clients: [tlsClient([bad])] });
      expect(isMeshConfigError(error)).toBe(true);
      expect((error as Error).message.length).toBeLessThan(600);
    }
  });

  it('forRootAsync and fromClientsModule (defaults.tls) check the entries too, naming them (holds)', async () => {
    const bad = ['spiffe://cluster.local/ns/default/sa/inventory', 'inventory.shop.svc.cluster.local:8443'];
    const viaAsync = await dynamicModuleStartError(MeshClientModule.forRootAsync({ useFactory: () => ({ clients: [tlsClient(bad)] }) }));
    expect(isMeshConfigError(viaAsync) && viaAsync.message).toMatch(
      /clients\[0\]\.tls\.expectedServerIds\[1\] looks like host:port.*write 'inventory\.shop\.svc\.cluster\.local'/,
    );
    const viaClientsModule = await dynamicModuleStartError(
      MeshClientModule.fromClientsModule(
        [{ name: 'ECHO', transport: Transport.GRPC, options: { url: server.target, package: 'mesh.test', protoPath: ECHO_PROTO } }],
        {
          defaults: { tls: { ca: pki.ca.cert, cert: pki.client.cert, key: pki.client.key, serverName: 'localhost', expectedServerIds: bad } },
        },
      ),
    );
    expect(isMeshConfigError(viaClientsModule) && viaClientsModule.message).toMatch(/\.tls\.expectedServerIds\[1\] looks like host:port/);
  });

  it('the ids checked at start are the ones the channels use later: an entry changed after start is not picked up by update({ target })', async () => {
    const ids = ['spiffe://cluster.local/ns/default/sa/inventory'];
    const app = await createTestApp({ clients: [tlsClient(ids)] });
    try {
      const echo = app.get(MeshClientRegistry).get('echo');
      expect(await lastValueFrom(echo.unary<EchoRequest, EchoReply>('Unary', { message: 'x' }, { timeoutMs: 3000 }))).toMatchObject({ message: 'x' });
      // the application's config object is edited later (a shared, reloaded settings object): start would have refused this entry
      ids[0] = 'inventory.shop.svc.cluster.local:8443';
      echo.update({ target: `localhost:${String(server.port)}` });
      const outcome = await lastValueFrom(echo.unary<EchoRequest, EchoReply>('Unary', { message: 'y' }, { timeoutMs: 3000 })).catch(
        (e: unknown) => e,
      );
      expect(isMeshClientError(outcome) ? outcome.message : outcome).toMatchObject({ message: 'y' });
    } finally {
      await app.close();
    }
  });

  it.each([
    '\ud800',
    '\u0000',
    '%',
    '[',
    '[]',
    '[:]:1',
    '*',
    '*.',
    'xn--',
    'xn--zz-',
    'spiffe://',
    'SPIFFE://',
    'spiffe://%zz/',
    'ä:1',
    '[::1%]',
    '::1%',
    'a'.repeat(300),
    `${'a.'.repeat(200)}b`,
    '\u200b',
    'ｌｏｃａｌｈｏｓｔ',
    'http://[::1',
    'ipv6:[::1]:50051',
    'unix:///tmp/s.sock',
  ])('odd id %j: start succeeds or fails with a MeshConfigError naming the entry, never another error', async (id) => {
    const error = await moduleStartError({ clients: [tlsClient([id])] });
    if (error === undefined) return;
    expect(isMeshConfigError(error), String(error)).toBe(true);
    expect((error as Error).message).toContain('clients[0].tls.expectedServerIds');
  });
});
