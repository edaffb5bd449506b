import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { InvalidMetadataError, addMetadata, metadataProblem } from '../../libs/mesh-client/src/security/metadata.js';

describe('metadata validation', () => {
  it('accepts ordinary and binary entries', () => {
    const md = new Metadata();
    addMetadata(md, { 'x-tenant-id': 't1', 'trace-bin': Buffer.from([1, 2]), 'raw-bin': 'abc' });
    expect(md.get('x-tenant-id')).toEqual(['t1']);
    expect(md.get('trace-bin')).toEqual([Buffer.from([1, 2])]);
    expect(md.get('raw-bin')).toEqual([Buffer.from('abc')]);
  });

  it.each([
    ['Upper-Case', 'v', /keys are lowercase/],
    ['bad key', 'v', /is invalid/],
    ['grpc-timeout', '1S', /reserved for gRPC/],
    ['x-datapunk-spread', 'x', /'x-datapunk-spread' is reserved for the mesh client's load balancing/],
    ['x-bin-not', Buffer.from('x'), /need a key ending in '-bin'/],
    ['x-num', 5, /must have a string value/],
    // found by the metadata property test: HTTP/2 strips the spaces, a ' ' value arrived as nothing
    ['x-pad', ' padded ', /leading or trailing spaces, which HTTP\/2 does not carry/],
  ])('refuses %s', (key, value, message) => {
    expect(metadataProblem(key, value)).toMatch(message);
  });

  it('never repeats a value in its message (values may be secrets)', () => {
    const secret = 'Bearer s3cr3t\n';
    const problem = metadataProblem('authorization', secret);
    expect(problem).toMatch(/characters gRPC cannot send/);
    expect(problem).not.toContain('s3cr3t');
    expect(() => addMetadata(new Metadata(), { authorization: secret })).toThrow(InvalidMetadataError);
  });

  it("refuses the key '__proto__': grpc-js builds headers in a plain object, where it would vanish", () => {
    expect(metadataProblem('__proto__', 'v')).toMatch(/'__proto__' cannot be sent/);
    expect(() => addMetadata(new Metadata(), JSON.parse('{"__proto__":"v"}') as Record<string, string>)).toThrow(InvalidMetadataError);
  });
});
