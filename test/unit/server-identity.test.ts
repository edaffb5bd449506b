import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { expectServerIdentity, serverIdProblem } from '../../libs/mesh-client/src/security/server-ids.js';

/** A peer certificate as Node reports it, with `subjectaltname` as Node writes it. */
const presenting = (subjectaltname: string): PeerCertificate => ({ subjectaltname }) as PeerCertificate;
const verdict = (expected: string[], san: string): string => expectServerIdentity(expected)('ignored', presenting(san))?.message ?? 'ok';

describe('expectedServerIds: each id in its own kind of SAN entry', () => {
  it.each([
    ['a SPIFFE id as a URI SAN', ['spiffe://mesh/ns/a/sa/inv'], 'URI:spiffe://mesh/ns/a/sa/inv'],
    ['a DNS name, without case', ['Inventory.Mesh.Local'], 'DNS:inventory.mesh.local'],
    ['a DNS name with the root dot on either side', ['inventory.mesh.local.'], 'DNS:inventory.mesh.local'],
    ['a DNS SAN with the root dot', ['inventory.mesh.local'], 'DNS:Inventory.mesh.local.'],
    ['an IPv4 address as an IP SAN', ['10.0.0.7'], 'DNS:other, IP Address:10.0.0.7'],
    ['an IPv6 address in another spelling', ['0:0:0:0:0:0:0:1'], 'IP Address:::1'],
    ['one of several ids', ['spiffe://mesh/x', 'inventory'], 'URI:spiffe://mesh/y, DNS:inventory'],
  ])('%s: taken', (_what, expected, san) => {
    expect(verdict(expected, san)).toBe('ok');
  });

  it.each([
    ['a SPIFFE id spelled as a DNS name', ['spiffe://mesh/ns/a/sa/inv'], 'DNS:spiffe://mesh/ns/a/sa/inv, URI:spiffe://mesh/ns/a/sa/impostor'],
    ['a DNS name spelled as a URI SAN', ['inventory.mesh.local'], 'URI:inventory.mesh.local'],
    ['a SPIFFE id in another case (URIs compare exactly)', ['spiffe://mesh/ns/a/sa/inv'], 'URI:SPIFFE://mesh/ns/a/sa/INV'],
    ['an IP address spelled as a DNS name', ['10.0.0.7'], 'DNS:10.0.0.7'],
    ['a DNS name that is only a suffix', ['mesh.local'], 'DNS:inventory.mesh.local'],
    ['a wildcard (not matched: an identity names one workload)', ['inventory.mesh.local'], 'DNS:*.mesh.local'],
    ['a SAN entry holding an escaped comma', ['victim'], 'DNS:x\\u002c DNS:victim'],
  ])('%s: refused, saying what was presented', (_what, expected, san) => {
    expect(verdict(expected, san)).toMatch(/^server identity mismatch: expected one of \[.+\], the server presented \[.+\]$/);
  });

  it('a certificate with no SAN: refused, saying so', () => {
    expect(verdict(['inventory'], '')).toBe(
      'server identity mismatch: expected one of [inventory], the server presented [no SAN URI, DNS name or IP address]',
    );
  });
});

describe('expectedServerIds checked at start: an id no certificate can present is refused, saying what to write', () => {
  it.each([
    ['a SPIFFE id', 'spiffe://mesh.local/ns/shop/sa/inventory'],
    ['a SPIFFE id whose trust domain has a port', 'spiffe://td:8443/x'],
    ['another URI', 'urn:uuid:6e8bc430-9c3a-11d9-9669-0800200c9a66'],
    ['a DNS name', 'inventory.shop.svc.cluster.local'],
    ['a DNS name in upper case', 'Inventory.Mesh.Local'],
    ['a DNS name with the root dot', 'inventory.mesh.local.'],
    ['a DNS name with an underscore', '_grpc.inventory.mesh.local'],
    ['a punycode name', 'xn--bcher-kva.example'],
    ['a single label', 'localhost'],
    ['a wildcard (compared as written)', '*.mesh.local'],
    ['an IPv4 address', '10.0.0.7'],
    ['an IPv6 address', 'fe80::1'],
    ['an IPv4-mapped IPv6 address', '::ffff:10.0.0.7'],
    ['a URI with a comma', 'urn:example:shard=1,2'],
  ])('%s: taken', (_what, id) => {
    expect(serverIdProblem(id)).toBeUndefined();
  });

  it.each([
    ['host:port', 'inventory.mesh.local:8443', /^looks like host:port: a certificate names a host, not a port \(write 'inventory\.mesh\.local'\)$/],
    ['a single label with a port', 'localhost:8443', /^looks like host:port.*\(write 'localhost'\)$/],
    ['a scheme-like host with a port and a slash', 'inventory:8443/', /^looks like host:port.*\(write 'inventory'\)$/],
    ['an IPv4 address with a port', '10.0.0.7:50051', /^looks like host:port.*\(write '10\.0\.0\.7'\)$/],
    ['an IPv6 address with a port', '[::1]:50051', /^looks like host:port.*\(write '::1'\)$/],
    ['an IPv6 address in brackets', '[fe80::1]', /^is an IPv6 address in brackets \(write 'fe80::1'\)$/],
    ['an IPv6 address with a zone', 'fe80::1%eth0', /^names a zone \(%eth0\): a certificate's IP address has none \(write 'fe80::1'\)$/],
    ['a gRPC target', 'dns:///inventory:8443', /^is a gRPC target: give the identity the server's certificate holds/],
    ['an xDS target', 'xds:///inventory', /^is a gRPC target/],
    ['a name ending in a colon', 'mesh.local:', /^ends in ':' \(write 'mesh\.local'\)$/],
    ['white space around it', ' inventory.mesh.local ', /^holds white space \(write 'inventory\.mesh\.local'\)$/],
    ['white space inside', 'inventory .mesh.local', /^holds white space$/],
    ['a URI with a quote', 'spiffe://mesh/a"b', /^holds characters a SAN URI cannot/],
    ['host:port whose host is no address either: no advice', '10.0.0.256:50051', /^looks like host:port: a certificate names a host, not a port$/],
    [
      'host:port of a very long name: no advice quoting it',
      `${'a'.repeat(200)}:8443`,
      /^looks like host:port: a certificate names a host, not a port$/,
    ],
    ['a URI with non-ASCII', 'spiffe://mesh/bücher', /^holds characters a SAN URI cannot/],
    ['a bad URI', 'http://[bad', /^has a scheme but is not a valid URI/],
    [
      'a SPIFFE id in upper case',
      'SPIFFE://Mesh.Local/ns/a',
      /^is a SPIFFE id, whose scheme and trust domain are lower case \(write 'spiffe:\/\/mesh\.local\/ns\/a'\)$/,
    ],
    [
      'an internationalized name',
      'bücher.example',
      /^is an internationalized name: certificates hold its ASCII form \(write 'xn--bcher-kva\.example'\)$/,
    ],
    ['a mistyped IPv4 address', '10.0.0.256', /^ends in a number but is no IP address/],
    ['a name with a slash', 'mesh.local/inventory', /^is neither a SAN URI \(scheme:\/\/…\), a DNS name nor an IP address$/],
    ['a label over 63 characters', `${'a'.repeat(64)}.mesh.local`, /^is neither a SAN URI/],
  ])('%s: refused', (_what, id, problem) => {
    expect(serverIdProblem(id)).toMatch(problem);
  });

  it('ids it takes match certificates as before', () => {
    expect(verdict(['localhost'], 'DNS:localhost')).toBe('ok');
    expect(verdict(['fe80::1'], 'IP Address:FE80:0:0:0:0:0:0:1')).toBe('ok');
    expect(verdict(['*.mesh.local'], 'DNS:*.mesh.local')).toBe('ok');
    // Node quotes a name holding a comma (escaped as \u002c): it is read unquoted
    expect(verdict(['urn:example:shard=1,2'], 'DNS:x, URI:"urn:example:shard=1\\u002c2"')).toBe('ok');
    expect(verdict(['urn:example:shard=1'], 'URI:"urn:example:shard=1\\u002c2"')).not.toBe('ok');
  });
});

describe("the certificate's SAN text, read as Node writes it", () => {
  it('an entry kind with a digit (X400Name) does not shift the entries after it', () => {
    expect(verdict(['inventory'], 'X400Name:<unsupported>, DNS:inventory')).toBe('ok');
  });

  it('text that is not as Node writes it presents nothing (fails closed)', () => {
    expect(verdict(['inventory'], 'DNS:inventory, !garbage')).not.toBe('ok');
  });
});
