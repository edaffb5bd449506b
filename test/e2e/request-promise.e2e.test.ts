import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { isMeshClientError } from '@datapunk/mesh-client';
import { failureOf } from '../support/errors.js';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { useEchoApp } from '../support/test-app.js';

describe('request(): a unary call as a Promise', () => {
  const fx = useEchoApp({ retry: { initialBackoffMs: 5, maxBackoffMs: 5 } });

  it('answers with the response, through the same retry as unary()', async () => {
    const metadata = { 'x-test-fail-times': '1', 'x-test-call-id': randomUUID() };
    const reply = await fx.echo.request<EchoRequest, EchoReply>('Unary', { message: 'hi' }, { metadata });
    expect(reply.message).toBe('hi');
  });

  it('rejects with a MeshClientError: the server says so, the deadline passes, the method is no unary RPC', async () => {
    expect(await failureOf(fx.echo.request('Unary', {}, { metadata: { 'x-test-status': '5' } }))).toMatchObject({ category: 'not-found' });
    const late = await failureOf(fx.echo.request('Unary', {}, { timeoutMs: 100, metadata: { 'x-test-delay-ms': '1000' } }));
    expect(late).toMatchObject({ category: 'timeout' });
    const wrongKind: unknown = await fx.echo.request('ServerStream', {}).catch((e: unknown) => e);
    expect(isMeshClientError(wrongKind) && wrongKind.message).toMatch(
      /'ServerStream' is a server-stream RPC: call serverStream\(\) or iterate\(\), not request\(\)/,
    );
  });

  it('is cancelled by its AbortSignal, on the wire', async () => {
    const controller = new AbortController();
    const pending = fx.echo.request('Unary', {}, { signal: controller.signal, metadata: { 'x-test-delay-ms': '2000' } });
    const cancelled = fx.server.nextCancellation();
    setTimeout(() => controller.abort(), 50);
    expect(await failureOf(pending)).toMatchObject({ category: 'cancelled' });
    expect(await cancelled).toBe('Unary');
  });
});
