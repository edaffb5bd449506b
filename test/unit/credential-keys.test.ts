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

  it('every value of a credential key (a binary one as text), none of another key, no part under 8 characters', () => {
    const metadata = new Metadata();
    metadata.add('cookie', 'a=11111111');
    metadata.add('cookie', 'b=22222222');
    metadata.add('x-api-key', 'kkkkkkkk');
    metadata.add('x-caller', 'inventory-service');
    metadata.add('x-token-bin', Buffer.from('binary-token'));
    expect(credentialValues(metadata)).toEqual(['a=11111111', '11111111', 'b=22222222', '22222222', 'kkkkkkkk', 'binary-token']);
    expect(credentialValues(undefined)).toEqual([]);
  });

  it('with the parts user code may quote alone: the credential after its scheme, each cookie value, JSON-escaped forms', () => {
    const metadata = new Metadata();
    metadata.set('authorization', 'Bearer eyJhbGciOi.payload.sig');
    metadata.set('cookie', 'session="s3cr3t-value"; theme=dark');
    const values = credentialValues(metadata);
    expect(values).toContain('eyJhbGciOi.payload.sig');
    expect(values).toContain('"s3cr3t-value"');
    expect(values).toContain('\\"s3cr3t-value\\"');
    expect(values).not.toContain('dark'); // under 8 characters: never masked, so not kept
  });
});

describe('masking: the longest secret first', () => {
  it('a secret that holds another is masked whole, not as [token] and the rest', async () => {
    const { withoutSecret } = await import('../../libs/mesh-client/src/errors/describe-thrown.js');
    expect(withoutSecret('quoted b=abcdefgh12345678', ['abcdefgh', 'abcdefgh12345678'])).toBe('quoted b=[token]');
  });
});
