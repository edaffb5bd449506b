import { request as httpRequest } from 'node:http';
import { Controller, Get, Module, type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InjectMeshClient, MeshClientModule, type MeshClient, type MeshClientOptions } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { LogCapture } from '../support/log-capture.js';
import { createTestPki, type TestPki } from '../support/pki.js';
import { echoClient, moduleStartError } from '../support/test-app.js';

/** The base64 body of a PEM block: key material without its armour. */
const bodyOf = (pem: string): string => pem.replace(/-----[^-]+-----/g, '').replace(/\s/g, '');

describe('a private key is never quoted back', () => {
  let pki: TestPki;
  let logs: LogCapture;
  beforeAll(async () => {
    pki = await createTestPki();
    logs = LogCapture.install();
  });
  afterAll(() => LogCapture.uninstall());

  const tlsClient = (tls: Record<string, unknown>): MeshClientOptions =>
    echoClient('127.0.0.1:1', { insecure: undefined, tls: { ...pki.files, ...tls } as never });

  it.each([
    ['key', 'unarmoured base64', () => bodyOf(pki.client.key)],
    ['key', 'a broken PEM header', () => pki.client.key.replace('-----BEGIN PRIVATE KEY-----', '----BEGIN PRIVATE KEY----')],
    ['cert', 'unarmoured base64', () => bodyOf(pki.client.cert)],
    ['ca', 'unarmoured base64', () => bodyOf(pki.ca.cert)],
  ])('tls.%s given as %s: start fails saying what it is not, in the error and in the start-up log', async (field, _what, value) => {
    const material = value();
    const secret = bodyOf(material).slice(10, 60);
    const error = await moduleStartError({ clients: [tlsClient({ [field]: material })] });
    const message = (error as Error).message;
    expect(message).toMatch(new RegExp(`tls\\.${field} (is neither PEM nor a readable file \\(\\d+ characters, [A-Z]+\\)|is not a PEM)`));
    expect(message).not.toContain(secret);
    // Nest's own start-up log of the same failure
    @Module({ imports: [MeshClientModule.forRoot({ clients: [tlsClient({ [field]: material })] })] })
    class Failing {}
    await NestFactory.create(Failing, { logger: logs, abortOnError: false }).catch(() => undefined);
    expect(logs.lines.join('\n')).not.toContain(secret);
  });

  it('static metadata values, even in a refused entry, never appear in the error', async () => {
    for (const metadata of [{ 'Bad Key': 'tok-s3cret-1' }, { 'x-ok': 'tok-s3cret-2\n' }, { 'grpc-x': 'tok-s3cret-3' }] as Record<string, string>[]) {
      const error = await moduleStartError({ clients: [echoClient('127.0.0.1:1', { metadata })] });
      expect((error as Error).message).not.toMatch(/tok-s3cret/);
    }
  });
});

@Controller()
class RelayController {
  constructor(@InjectMeshClient('echo') private readonly echo: MeshClient) {}

  @Get('relay')
  relay(): Promise<unknown> {
    return lastValueFrom(this.echo.unary('Unary', {}));
  }
}

describe('the incoming request context is checked before it travels on', () => {
  let server: EchoServer;
  let app: INestApplication;
  let logs: LogCapture;

  beforeAll(async () => {
    logs = LogCapture.install();
    server = await startEchoServer();
    @Module({
      imports: [
        MeshClientModule.forRoot({
          contextExtraKeys: ['x-feature'],
          // opted in, so that the checks of a token and a tenant are seen (the default trusts neither)
          trustIncoming: ['traceparent', 'requestId', 'deadline', 'token', 'tenant'],
          clients: [echoClient(server.target, { retry: false })],
        }),
      ],
      controllers: [RelayController],
    })
    class RelayModule {}
    app = await NestFactory.create(RelayModule, { logger: logs });
    await app.listen(0, '127.0.0.1');
  });
  afterAll(async () => {
    LogCapture.uninstall();
    await app.close();
    await server.stop();
  });

  /** GET /relay with raw header lines (repeated names allowed); what the backend saw. */
  async function relay(headers: [string, string][]): Promise<{ status: number; seen: (key: string) => string[] }> {
    const url = new URL(`${await app.getUrl()}/relay`);
    const status = await new Promise<number>((resolve, reject) => {
      const raw = [['host', url.host], ...headers].flat() as unknown as Record<string, string>; // Node takes raw header lines as a flat array
      const req = httpRequest({ host: url.hostname, port: url.port, path: url.pathname, headers: raw }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end();
    });
    const md = server.metadataSeen.at(-1)!;
    return { status, seen: (key) => md.get(key).map(String) };
  }

  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
  const TRACE = '4bf92f3577b34da6a3ce929d0e0e4736';

  it('a traceparent that is not W3C trace-context is dropped; a valid one travels', async () => {
    for (const bad of [
      '<script>alert(1)</script>',
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      `00-${TRACE}-${'0'.repeat(16)}-01`,
      `01-${TRACE}-00f067aa0ba902b7-01`,
      `00-${TRACE.toUpperCase()}-00f067aa0ba902b7-01`,
    ]) {
      const { status, seen } = await relay([['traceparent', bad]]);
      expect(status).toBe(200);
      expect(seen('traceparent')).toEqual([]);
    }
    const { seen } = await relay([['traceparent', `00-${TRACE}-00f067aa0ba902b7-01`]]);
    expect(seen('traceparent')[0]).toContain(TRACE);
  });

  it('a request id that is not printable ASCII of at most 128 characters is replaced by a fresh UUID; the call still succeeds', async () => {
    for (const bad of ['r\u00e9q-1', 'x'.repeat(129), 'tab\there']) {
      const { status, seen } = await relay([['x-request-id', bad]]);
      expect(status).toBe(200);
      expect(seen('x-request-id')[0]).toMatch(UUID);
    }
    expect(logs.lines.some((l) => l.startsWith('debug') && l.includes('x-request-id not taken'))).toBe(true);
    const { seen } = await relay([['x-request-id', 'a%0d%0aInjected:%201']]);
    expect(seen('x-request-id')).toEqual(['a%0d%0aInjected:%201']);
  });

  it('a repeated header: the first value counts, never the joined list', async () => {
    // as many as Node's default 16 KiB header limit lets through
    const ids = Array.from({ length: 500 }, (_, i): [string, string] => ['x-request-id', `id-${String(i)}`]);
    const { status, seen } = await relay([...ids, ['x-tenant-id', 't1'], ['x-tenant-id', 't2']]);
    expect(status).toBe(200);
    expect(seen('x-request-id')).toEqual(['id-0']);
    expect(seen('x-tenant-id')).toEqual(['t1']);
  });

  it('a token or tenant that metadata cannot carry is dropped, never logged', async () => {
    const { status, seen } = await relay([
      ['authorization', 'Bearer s3cr\u00e9t-token'],
      ['x-tenant-id', 't\u00e9nant'],
      ['x-feature', 'f\u00e9'],
    ]);
    expect(status).toBe(200);
    expect(seen('authorization')).toEqual([]);
    expect(seen('x-tenant-id')).toEqual([]);
    expect(seen('x-feature')).toEqual([]);
    expect(logs.lines.join('\n')).not.toMatch(/s3cr/);
  });
});
