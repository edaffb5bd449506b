import { writeFileSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { controlPlaneAddress, probeControlPlane } from '../../libs/mesh-client/src/xds/control-plane-probe.js';
import { findBootstrap, installBootstrap } from '../../libs/mesh-client/src/xds/xds-bootstrap.js';

const BOOTSTRAP = { xds_servers: [{ server_uri: 'dns:///istiod.istio-system.svc:15010', channel_creds: [{ type: 'insecure' }] }], node: { id: 'n' } };
const dir = mkdtempSync(join(tmpdir(), 'mesh-xds-unit-'));

describe('xDS bootstrap sources', () => {
  it('GRPC_XDS_BOOTSTRAP (a file) wins over GRPC_XDS_BOOTSTRAP_CONFIG, as in grpc-js-xds', () => {
    const file = join(dir, 'bootstrap.json');
    writeFileSync(file, JSON.stringify(BOOTSTRAP));
    const other = { ...BOOTSTRAP, xds_servers: [{ server_uri: 'other:1', channel_creds: [] }] };
    const found = findBootstrap(undefined, { GRPC_XDS_BOOTSTRAP: file, GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(other) });
    expect(found).toMatchObject({ source: 'GRPC_XDS_BOOTSTRAP', serverUri: 'dns:///istiod.istio-system.svc:15010' });
    expect(findBootstrap(undefined, { GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(other) })).toMatchObject({
      source: 'GRPC_XDS_BOOTSTRAP_CONFIG',
      serverUri: 'other:1',
    });
  });

  it('the option may be an object, JSON text or a file; equal bootstraps in other spellings agree', () => {
    const file = join(dir, 'option.json');
    writeFileSync(file, JSON.stringify(BOOTSTRAP, null, 2));
    const texts = [findBootstrap(BOOTSTRAP, {}), findBootstrap(JSON.stringify(BOOTSTRAP, null, 4), {}), findBootstrap(file, {})].map((b) => b.text);
    expect(new Set(texts).size).toBe(1);
    expect(findBootstrap(BOOTSTRAP, { GRPC_XDS_BOOTSTRAP_CONFIG: JSON.stringify(BOOTSTRAP, null, 1) }).source).toBe('xds.bootstrap');
  });

  it('installs a bootstrap from the option into GRPC_XDS_BOOTSTRAP_CONFIG once; one from the environment is left as it is', () => {
    const env: NodeJS.ProcessEnv = {};
    installBootstrap(findBootstrap(BOOTSTRAP, env), env);
    expect(JSON.parse(env.GRPC_XDS_BOOTSTRAP_CONFIG!)).toEqual(BOOTSTRAP);
    const fromEnv: NodeJS.ProcessEnv = { GRPC_XDS_BOOTSTRAP_CONFIG: '{"xds_servers":[{"server_uri":"a:1"}]}' };
    installBootstrap(findBootstrap(undefined, fromEnv), fromEnv);
    expect(fromEnv.GRPC_XDS_BOOTSTRAP_CONFIG).toBe('{"xds_servers":[{"server_uri":"a:1"}]}');
  });
});

describe('control plane probe', () => {
  it.each([
    ['127.0.0.1:15010', { host: '127.0.0.1', port: 15010 }],
    ['dns:///istiod.istio-system.svc:15012', { host: 'istiod.istio-system.svc', port: 15012 }],
    ['[::1]:8080', { host: '::1', port: 8080 }],
    ['unix:///var/run/xds.sock', { path: '/var/run/xds.sock' }],
    ['trafficdirector.googleapis.com', undefined],
  ])('address of %s', (uri, expected) => {
    expect(controlPlaneAddress(uri)).toEqual(expected);
  });

  it('reachable while something listens, unreachable once it stopped', async () => {
    const server = createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const { port } = server.address() as { port: number };
    expect(await probeControlPlane(`127.0.0.1:${String(port)}`, 1000)).toBe('reachable');
    await new Promise((r) => server.close(r));
    expect(await probeControlPlane(`127.0.0.1:${String(port)}`, 1000)).toBe('unreachable');
    expect(await probeControlPlane('no-port-here', 1000)).toBe('unreachable');
  });
});
