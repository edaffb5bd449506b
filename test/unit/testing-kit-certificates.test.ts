import { X509Certificate, createPrivateKey } from 'node:crypto';
import { once } from 'node:events';
import { connect, createServer, type TLSSocket } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { createFakePki } from '../../libs/mesh-client/src/testing/tls/certificates.js';
import { namedBits, oid, octetString, sequence, time, unsignedInteger } from '../../libs/mesh-client/src/testing/tls/der.js';

const hex = (b: Buffer): string => b.toString('hex');

describe('the DER writer of the testing kit', () => {
  it('writes lengths in short and long form', () => {
    expect(hex(octetString(Buffer.alloc(3)))).toBe('0403000000');
    expect(hex(octetString(Buffer.alloc(200)).subarray(0, 3))).toBe('0481c8');
    expect(hex(octetString(Buffer.alloc(300)).subarray(0, 4))).toBe('0482012c');
    expect(octetString(Buffer.alloc(70_000)).length).toBe(70_000 + 5);
  });

  it('writes object identifiers with base-128 arcs', () => {
    expect(hex(oid('2.5.4.3'))).toBe('0603550403');
    expect(hex(oid('1.2.840.10045.4.3.2'))).toBe('06082a8648ce3d040302');
    expect(hex(oid('1.3.6.1.5.5.7.3.1'))).toBe('06082b06010505070301');
  });

  it('keeps integers positive and minimal', () => {
    expect(hex(unsignedInteger(Buffer.from([0x00, 0x00, 0x7f])))).toBe('02017f');
    expect(hex(unsignedInteger(Buffer.from([0x80])))).toBe('02020080');
    expect(hex(unsignedInteger(Buffer.from([0x00])))).toBe('020100');
  });

  it('writes named bits with the count of unused bits (KeyUsage)', () => {
    expect(hex(namedBits([0]))).toBe('03020780'); // digitalSignature
    expect(hex(namedBits([5, 6]))).toBe('03020106'); // keyCertSign, cRLSign
    expect(hex(namedBits([8]))).toBe('0303070080'); // decipherOnly: a second byte
  });

  it('writes UTCTime before 2050 and GeneralizedTime from 2050 on', () => {
    expect(time(new Date(Date.UTC(2030, 0, 2, 3, 4, 5))).toString('latin1')).toBe('\x17\x0d300102030405Z');
    expect(time(new Date(Date.UTC(2050, 11, 31, 23, 59, 59))).toString('latin1')).toBe('\x18\x0f20501231235959Z');
  });

  it('nests sequences', () => {
    expect(hex(sequence(sequence(), octetString(Buffer.from([1]))))).toBe('30053000040101');
  });
});

describe('the certificates a TLS fake generates', () => {
  const pki = createFakePki('demo.inventory.Inventory');
  const ca = new X509Certificate(pki.ca);
  const server = new X509Certificate(pki.server.cert);
  const client = new X509Certificate(pki.client.cert);

  it('are an X.509 CA and two leaves it signed, valid now', () => {
    expect(ca.ca).toBe(true);
    expect(ca.verify(ca.publicKey)).toBe(true);
    for (const leaf of [server, client]) {
      expect(leaf.ca).toBe(false);
      expect(leaf.checkIssued(ca)).toBe(true);
      expect(leaf.verify(ca.publicKey)).toBe(true);
      expect(new Date(leaf.validFrom).getTime()).toBeLessThan(Date.now());
      expect(new Date(leaf.validTo).getTime()).toBeGreaterThan(Date.now() + 7 * 86_400_000);
    }
    expect(server.subject).toBe('CN=demo.inventory.Inventory');
    expect(ca.subject).toBe('CN=MeshFake CA for demo.inventory.Inventory');
  });

  it('name localhost and 127.0.0.1 for the server, and say what each key is for', () => {
    expect(server.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    expect(server.checkHost('localhost')).toBe('localhost');
    expect(server.checkIP('127.0.0.1')).toBe('127.0.0.1');
    expect(server.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1']);
    expect(client.keyUsage).toEqual(['1.3.6.1.5.5.7.3.2']);
    expect(server.checkPrivateKey(createPrivateKey(pki.server.key))).toBe(true);
    expect(client.checkPrivateKey(createPrivateKey(pki.client.key))).toBe(true);
  });

  it('are new for every fake', () => {
    const other = createFakePki('demo.inventory.Inventory');
    expect(other.ca).not.toBe(pki.ca);
    expect(new X509Certificate(other.server.cert).checkIssued(ca)).toBe(false);
  });

  it('complete a mutual TLS handshake with Node (OpenSSL) verifying both sides', async () => {
    const tlsServer = createServer({ ca: pki.ca, cert: pki.server.cert, key: pki.server.key, requestCert: true, rejectUnauthorized: true });
    const accepted = once(tlsServer, 'secureConnection') as Promise<[TLSSocket]>;
    tlsServer.listen(0, '127.0.0.1');
    await once(tlsServer, 'listening');
    const port = (tlsServer.address() as { port: number }).port;
    const socket = connect({ host: '127.0.0.1', port, servername: 'localhost', ca: pki.ca, cert: pki.client.cert, key: pki.client.key });
    try {
      await once(socket, 'secureConnect');
      expect(socket.authorized).toBe(true);
      const [peer] = await accepted;
      expect(peer.authorized).toBe(true);
      expect(peer.getPeerCertificate().subject.CN).toBe('demo.inventory.Inventory test client');
      peer.destroy();
    } finally {
      socket.destroy();
      tlsServer.close();
    }
  });
});
