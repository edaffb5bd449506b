import { Metadata } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { credentialValues, isCredentialKey } from '../../libs/mesh-client/src/security/metadata.js';

describe('metadata keys whose values are credentials (masked where user code quotes them)', () => {
  it.each([
    'authorization',
    'proxy-authorization',
    'x-api-key',
    'api_key',
    'x-goog-api-key',
    'x-access-key',
    'key',
    'apikey',
    'x-auth-token',
    'x-amz-security-token',
    'x-csrf-token',
    'cookie',
    'x-client-secret',
    'x-password',
    'x-hub-signature',
    'x-jwt',
    'X-Api-Key',
  ])('%s: a credential', (key) => {
    expect(isCredentialKey(key)).toBe(true);
  });

  it.each([
    'x-idempotency-key',
    'x-routing-key',
    'x-bypass-cache',
    'x-passthrough',
    'x-author',
    'x-session-id',
    'x-request-id',
    'x-tenant-id',
    'traceparent',
    'x-caller',
  ])('%s: not a credential', (key) => {
    expect(isCredentialKey(key)).toBe(false);
  });

  it('every text value of a credential key, none of another key, no binary value', () => {
    const metadata = new Metadata();
    metadata.add('cookie', 'a=1');
    metadata.add('cookie', 'b=2');
    metadata.add('x-api-key', 'k');
    metadata.add('x-caller', 'inventory');
    metadata.add('x-token-bin', Buffer.from('binary'));
    expect(credentialValues(metadata)).toEqual(['a=1', 'b=2', 'k']);
    expect(credentialValues(undefined)).toEqual([]);
  });
});
