import type { PeerCertificate } from 'node:tls';
import { describe, expect, it } from 'vitest';
import { expectServerIdentity } from '../../libs/mesh-client/src/security/tls-credentials.js';

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
