import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MeshConfigError, type MeshClientOptions } from '@datapunk/mesh-client';
import { echoProto } from '../support/protos.js';
import { moduleStartError } from '../support/test-app.js';

const BOOTSTRAP = { xds_servers: [{ server_uri: '127.0.0.1:1', channel_creds: [{ type: 'insecure' }] }], node: { id: 'config-test' } };
const dir = mkdtempSync(join(tmpdir(), 'mesh-xds-'));
const client = (extra: Record<string, unknown> = {}): MeshClientOptions =>
  ({ name: 'inventory', target: 'xds:///inventory', proto: echoProto, insecure: true, ...extra }) as MeshClientOptions;

describe('xds:/// options are checked at start', () => {
  const saved = { file: process.env.GRPC_XDS_BOOTSTRAP, config: process.env.GRPC_XDS_BOOTSTRAP_CONFIG };
  beforeEach(() => {
    delete process.env.GRPC_XDS_BOOTSTRAP;
    delete process.env.GRPC_XDS_BOOTSTRAP_CONFIG;
  });
  afterEach(() => {
    for (const [key, value] of [
      ['GRPC_XDS_BOOTSTRAP', saved.file],
      ['GRPC_XDS_BOOTSTRAP_CONFIG', saved.config],
    ] as const) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });

  const notJson = join(dir, 'not-json.json');
  writeFileSync(notJson, 'xds_servers: nope');
  const fifo = join(dir, 'bootstrap.fifo');
  execFileSync('mkfifo', [fifo]);
  it.each<[string, () => unknown, RegExp]>([
    [
      'no bootstrap anywhere',
      () => ({ clients: [client()] }),
      /clients\[0\]\.target is an xDS target but no xDS bootstrap was given: set GRPC_XDS_BOOTSTRAP \(a file\) or GRPC_XDS_BOOTSTRAP_CONFIG/,
    ],
    [
      'bootstrap text that is not JSON',
      () => ({ clients: [client({ xds: { bootstrap: '{ nope' } })] }),
      /clients\[0\]\.xds\.bootstrap the xDS bootstrap from xds\.bootstrap is not valid JSON/,
    ],
    [
      'bootstrap without servers',
      () => ({ clients: [client({ xds: { bootstrap: { node: { id: 'x' } } } })] }),
      /\.xds\.bootstrap the xDS bootstrap from xds\.bootstrap needs xds_servers: \[\{ server_uri, channel_creds \}\]/,
    ],
    [
      'bootstrap file that does not exist',
      () => ({ clients: [client({ xds: { bootstrap: join(dir, 'missing.json') } })] }),
      /\.xds\.bootstrap cannot read the xDS bootstrap file '.*missing\.json': ENOENT/,
    ],
    // (a FIFO would block start for ever, /dev/zero fill the memory)
    [
      'bootstrap file that is a FIFO',
      () => ({ clients: [client({ xds: { bootstrap: fifo } })] }),
      /\.xds\.bootstrap cannot read the xDS bootstrap file '.*bootstrap\.fifo': a FIFO, not a regular file/,
    ],
    [
      'GRPC_XDS_BOOTSTRAP naming /dev/zero',
      () => {
        process.env.GRPC_XDS_BOOTSTRAP = '/dev/zero';
        return { clients: [client()] };
      },
      /cannot read the xDS bootstrap file '\/dev\/zero': a device, not a regular file/,
    ],
    [
      'bootstrap file that is not JSON',
      () => ({ clients: [client({ xds: { bootstrap: notJson } })] }),
      /xds\.bootstrap the xDS bootstrap from xds\.bootstrap is not valid JSON/,
    ],
    [
      'bootstrap of the wrong type',
      () => ({ clients: [client({ xds: { bootstrap: 42 } })] }),
      /\.xds\.bootstrap must be a bootstrap object, its JSON text or the path of a bootstrap file/,
    ],
    ['unknown key under xds', () => ({ clients: [client({ xds: { bootstarp: BOOTSTRAP } })] }), /clients\[0\]\.xds.*bootstarp/],
    [
      'GRPC_XDS_BOOTSTRAP that is not JSON',
      () => {
        process.env.GRPC_XDS_BOOTSTRAP = notJson;
        return { clients: [client()] };
      },
      /\.target the xDS bootstrap from GRPC_XDS_BOOTSTRAP is not valid JSON/,
    ],
    [
      'an option while GRPC_XDS_BOOTSTRAP is set',
      () => {
        process.env.GRPC_XDS_BOOTSTRAP = join(dir, 'elsewhere.json');
        return { clients: [client({ xds: { bootstrap: BOOTSTRAP } })] };
      },
      /\.xds\.bootstrap conflicts with GRPC_XDS_BOOTSTRAP, set in the environment: the xDS bootstrap is process-wide in @grpc\/grpc-js-xds/,
    ],
    [
      'an option that differs from the bootstrap already in use',
      () => {
        process.env.GRPC_XDS_BOOTSTRAP_CONFIG = JSON.stringify({ ...BOOTSTRAP, node: { id: 'other' } });
        return { clients: [client({ xds: { bootstrap: BOOTSTRAP } })] };
      },
      /\.xds\.bootstrap differs from the xDS bootstrap already in use in this process \(GRPC_XDS_BOOTSTRAP_CONFIG\)/,
    ],
    [
      'two clients with different bootstraps',
      () => ({
        clients: [client({ xds: { bootstrap: BOOTSTRAP } }), client({ name: 'orders', xds: { bootstrap: { ...BOOTSTRAP, node: { id: 'other' } } } })],
      }),
      /client 'orders'\.xds\.bootstrap differs from client 'inventory''s: the xDS bootstrap is process-wide/,
    ],
  ])('%s', async (_, options, message) => {
    const error = await moduleStartError(options());
    expect(error).toBeInstanceOf(MeshConfigError);
    expect((error as Error).message).toMatch(message);
  });

  it('a bootstrap that is not JSON is not quoted in the error (it may hold credentials)', async () => {
    const error = await moduleStartError({ clients: [client({ xds: { bootstrap: '{ "call_creds": sekrit-token-123' } })] });
    expect((error as Error).message).toMatch(/xds\.bootstrap the xDS bootstrap from xds\.bootstrap is not valid JSON \(client 'inventory'\)$/);
    expect((error as Error).message).not.toContain('sekrit');
  });

  it('xds options under defaults do not bother clients with other targets', async () => {
    const error = await moduleStartError({ defaults: { xds: { bootstrap: BOOTSTRAP } }, clients: [client({ target: '127.0.0.1:50051' })] });
    expect(error).toBeUndefined();
  });
});
