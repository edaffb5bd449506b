import { status } from '@grpc/grpc-js';
import { describe, expect, it } from 'vitest';
import { MeshClientError, isMeshClientError, isMeshConfigError, MeshConfigError } from '@datapunk/mesh-client';
import { STATUS_TABLE, classifyStatus } from '@datapunk/mesh-client/advanced';

describe('status table', () => {
  it('has a row for each of the 17 gRPC codes, named as grpc-js names them', () => {
    const codes = Object.values(status).filter((v): v is number => typeof v === 'number');
    expect(codes).toHaveLength(17);
    for (const code of codes) expect(STATUS_TABLE[code]?.codeName).toBe(status[code]);
  });

  it('only UNAVAILABLE, RESOURCE_EXHAUSTED and ABORTED are transient', () => {
    const transient = Object.values(STATUS_TABLE)
      .filter((r) => r.retryable)
      .map((r) => r.codeName)
      .sort();
    expect(transient).toEqual(['ABORTED', 'RESOURCE_EXHAUSTED', 'UNAVAILABLE']);
  });

  it.each([-1, 17, 42, 1.5, Number.NaN])('classifies out-of-range code %s as unknown, not retryable', (code) => {
    expect(classifyStatus(code)).toMatchObject({ category: 'unknown', retryable: false, codeName: `STATUS_${String(code)}` });
  });
});

describe('error guards', () => {
  const init = {
    code: 14,
    codeName: 'UNAVAILABLE',
    category: 'unavailable',
    retryable: true,
    attempts: 2,
    client: 'c',
    service: 's.S',
    method: 'M',
    details: 'down',
  } as const;

  it('isMeshClientError recognises the class and its brand, and nothing else', () => {
    expect(isMeshClientError(new MeshClientError(init))).toBe(true);
    expect(isMeshClientError(new Error('x'))).toBe(false);
    expect(isMeshClientError(new MeshConfigError('x'))).toBe(false);
    expect(isMeshClientError(null)).toBe(false);
    expect(isMeshConfigError(new MeshConfigError('x'))).toBe(true);
    expect(isMeshConfigError(new MeshClientError(init))).toBe(false);
  });

  it('names the call site and status in its message', () => {
    expect(new MeshClientError(init).message).toBe('[c] /s.S/M failed: UNAVAILABLE (14): down');
  });
});

describe('toMeshError on odd throws (found by the property test)', () => {
  it('describes a value whose toString is broken instead of throwing', async () => {
    const { toMeshError } = await import('../../libs/mesh-client/src/errors/to-mesh-error.js');
    const error = toMeshError({ toString: {} }, { client: 'c', service: 's.S', method: 'M', maxMessageBytes: 1 }, 0);
    expect(error).toMatchObject({ category: 'unknown', details: '[object Object]' });
    expect(toMeshError({ code: 14, details: {} }, { client: 'c', service: 's.S', method: 'M', maxMessageBytes: 1 }, 1).details).toBe('');
  });
});
