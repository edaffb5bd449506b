import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer, type Server as TlsServer, type TLSSocket } from 'node:tls';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TlsRefusalCheck, probeTlsRefusal } from '../../libs/mesh-client/src/security/tls-refusal.js';
import { createTestPki } from '../support/pki.js';

// A probe runs when a TLS client's connection fails; it held its socket and a 1 s timer past the
// client's close (app.close()). Against a server that accepts and never answers the handshake.
describe('TlsRefusalCheck.close()', () => {
  let server: Server;
  const sockets: Socket[] = [];
  let port = 0;

  beforeAll(async () => {
    server = createServer((socket) => void sockets.push(socket.on('error', () => undefined).resume()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  it('ends a probe under way at once (no verdict, its socket closed) and starts none after', async () => {
    const check = new TlsRefusalCheck({ host: '127.0.0.1', port, options: { rejectUnauthorized: false }, presentsCertificate: true });
    const began = performance.now();
    const verdict = check.refusal();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(sockets.length).toBe(1);
    check.close();
    expect(await verdict).toBeUndefined();
    expect(performance.now() - began).toBeLessThan(500); // the probe's own bound is 1 s
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(sockets[0]!.destroyed || sockets[0]!.readableEnded).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 2100)); // past the verdict's 2 s sharing
    expect(await check.refusal()).toBeUndefined();
    expect(sockets.length).toBe(1); // no new probe connected
  });
});

// Found reading the abort: a probe the client ended after the TLS handshake (or whose time ran
// out), against a server that had not answered yet, read its own close as the server refusing the
// client certificate.
describe('a probe that ends itself after the handshake, the server silent', () => {
  let server: TlsServer;
  const sockets: TLSSocket[] = [];
  let port = 0;

  beforeAll(async () => {
    const pki = await createTestPki();
    server = createTlsServer(
      { cert: pki.server.cert, key: pki.server.key, ALPNProtocols: ['h2'] },
      (socket) => void sockets.push(socket.on('error', () => undefined)),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const socket of sockets) socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });

  const target = () => ({ host: '127.0.0.1', port, options: { rejectUnauthorized: false }, presentsCertificate: true });

  it('its time running out is no verdict (a slow server is not one that refused the certificate)', async () => {
    expect(await probeTlsRefusal(target(), 300)).toBeUndefined();
    expect(sockets.length).toBeGreaterThan(0); // the handshake was made: the server had the connection
  });

  it('the client closing it is no verdict either', async () => {
    const check = new TlsRefusalCheck(target());
    const verdict = check.refusal();
    await new Promise((resolve) => setTimeout(resolve, 150));
    check.close();
    expect(await verdict).toBeUndefined();
  });
});

// A server that closes every connection right after the handshake cannot be told from one that
// refuses the client certificate; a client whose certificate a server took before reads the close
// as no refusal, but still probes (an alert naming the certificate would still be read).
describe('a close after the handshake, once a server took the certificate', () => {
  let server: TlsServer;
  let connections = 0;
  let port = 0;

  beforeAll(async () => {
    const pki = await createTestPki();
    server = createTlsServer({ cert: pki.server.cert, key: pki.server.key, ALPNProtocols: ['h2'] }, (socket) => {
      connections++;
      socket.destroy();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => new Promise((resolve) => server.close(resolve)));

  const target = (certificateExpiresAt?: number) => ({
    host: '127.0.0.1',
    port,
    options: { rejectUnauthorized: false },
    presentsCertificate: true,
    ...(certificateExpiresAt === undefined ? {} : { certificateExpiresAt }),
  });

  it('before: the close reads as a refused certificate', async () => {
    expect(await new TlsRefusalCheck(target()).refusal()).toMatch(/the server refused the client certificate/);
  });

  it('after: it is no refusal, and the probe still ran', async () => {
    const check = new TlsRefusalCheck(target());
    check.accepted();
    const before = connections;
    expect(await check.refusal()).toBeUndefined();
    expect(connections).toBe(before + 1);
  });

  it('after, the certificate expired since: a refusal again', async () => {
    let now = 1_000;
    const check = new TlsRefusalCheck(target(2_000), () => now);
    check.accepted();
    expect(await check.refusal()).toBeUndefined();
    now = 2_000; // within the verdict's 2 s sharing, but the reading changed
    expect(await check.refusal()).toMatch(/the server refused the client certificate/);
  });
});
