import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isMeshClientError, type MeshErrorCategory } from '@datapunk/mesh-client';
import { MeshFake, fakeStatus } from '@datapunk/mesh-client/testing';
import { clientOfFake, type FakeClientApp } from '../support/fake-client.js';
import { echoProto, type EchoRequest } from '../support/protos.js';

/** The documented table (docs/reference/errors.md, generated from STATUS_TABLE), restated here so that a change to either is noticed. */
const DOCUMENTED: [keyof typeof status, MeshErrorCategory, boolean][] = [
  ['CANCELLED', 'cancelled', false],
  ['UNKNOWN', 'unknown', false],
  ['INVALID_ARGUMENT', 'invalid-request', false],
  ['DEADLINE_EXCEEDED', 'timeout', false],
  ['NOT_FOUND', 'not-found', false],
  ['ALREADY_EXISTS', 'conflict', false],
  ['PERMISSION_DENIED', 'permission-denied', false],
  ['RESOURCE_EXHAUSTED', 'resource-exhausted', true],
  ['FAILED_PRECONDITION', 'invalid-request', false],
  ['ABORTED', 'conflict', true],
  ['OUT_OF_RANGE', 'invalid-request', false],
  ['UNIMPLEMENTED', 'unimplemented', false],
  ['INTERNAL', 'internal', false],
  ['UNAVAILABLE', 'unavailable', true],
  ['DATA_LOSS', 'internal', false],
  ['UNAUTHENTICATED', 'unauthenticated', false],
];

describe('every gRPC status code from a real server', () => {
  let fake: MeshFake;
  let fx: FakeClientApp;

  beforeAll(async () => {
    fake = await MeshFake.start(echoProto, {
      // the request names the status to answer with ('ok' answers)
      Unary: ({ message = '' }: EchoRequest) => {
        if (message === 'ok') return { message };
        throw fakeStatus(message, `server says ${message.toLowerCase()}`, { 'x-test-trailer': 'kept' });
      },
      ServerStream: () => [{ index: 0 }, { index: 1 }, { index: 2 }],
    });
    fx = await clientOfFake(fake);
  });
  afterAll(async () => {
    await fx.app.close();
    await fake.close();
  });

  it('OK is a success, not an error', async () => {
    await expect(lastValueFrom(fx.echo.unary('Unary', { message: 'ok' }))).resolves.toMatchObject({ message: 'ok' });
  });

  it.each(DOCUMENTED)('%s maps to category %s, retryable %s, keeping details, trailers and cause', async (name, category, retryable) => {
    const code = status[name];
    const details = `server says ${name.toLowerCase()}`;
    const error: unknown = await lastValueFrom(fx.echo.unary('Unary', { message: name })).catch((e: unknown) => e);
    expect(isMeshClientError(error)).toBe(true);
    if (!isMeshClientError(error)) return;
    expect(error).toMatchObject({
      code,
      codeName: name,
      category,
      retryable,
      details,
      attempts: 1,
      client: 'echo',
      service: 'mesh.test.Echo',
      method: 'Unary',
    });
    expect(error.trailers?.get('x-test-trailer')).toEqual(['kept']);
    expect((error.cause as { code?: number }).code).toBe(code);
    expect(error.message).toContain(`/mesh.test.Echo/Unary failed: ${name} (${String(code)}): ${details}`);
  });

  it('a server stream ending with a status after messages reports it the same way', async () => {
    fake.sendAfter(2, fakeStatus('NOT_FOUND'));
    const seen: unknown[] = [];
    const error = await new Promise((resolve) => fx.echo.serverStream('ServerStream', {}).subscribe({ next: (v) => seen.push(v), error: resolve }));
    expect(seen).toHaveLength(2);
    expect(error).toMatchObject({ category: 'not-found', code: status.NOT_FOUND });
  });

  it("has grpc-js ServiceError's shape: a ClientGrpc-era handler reads err.metadata (the trailers; empty, never undefined, when none)", async () => {
    // what code written against ClientGrpc does with the error it gets
    const handler = (err: Pick<ServiceError, 'code' | 'details' | 'metadata'>): string =>
      `${String(err.code)} ${err.details} ${String(err.metadata.get('x-test-trailer'))}`;
    const failed: unknown = await lastValueFrom(fx.echo.unary('Unary', { message: 'NOT_FOUND' })).catch((e: unknown) => e);
    if (!isMeshClientError(failed)) throw new Error('expected a MeshClientError');
    expect(handler(failed)).toBe('5 server says not_found kept');
    expect(failed.metadata).toBe(failed.trailers);
    const local: unknown = await lastValueFrom(fx.echo.unary('NoSuchRpc', {})).catch((e: unknown) => e);
    if (!isMeshClientError(local)) throw new Error('expected a MeshClientError');
    expect(local.trailers).toBeUndefined();
    expect(local.metadata).toBeInstanceOf(Metadata);
    expect(local.metadata.getMap()).toEqual({});
    expect(local.metadata).toBe(local.metadata);
    expect(handler(local)).toMatch(/^12 .* $/);
  });
});
