import { lastValueFrom } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { MeshClientRegistry, isMeshClientError, type MeshClientPlugin } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { createTestApp, echoClient } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

/** Active handles of this process by type, e.g. { TCPSocketWrap: 2, Timeout: 1 }. */
function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

describe('lifecycle: app.close()', () => {
  let server: EchoServer;
  let proxy: TcpProxy;

  beforeEach(async () => {
    server = await startEchoServer();
    proxy = await new TcpProxy(server.port).start();
  });
  afterEach(async () => {
    await proxy.stop();
    await server.stop();
  });

  it('closes the connection, leaves no socket or timer behind, and refuses later calls clearly', async () => {
    await settle();
    const baseline = handles();
    const app = await createTestApp({ clients: [echoClient(proxy.target), echoClient(proxy.target, { name: 'other' })] });
    const registry = app.get(MeshClientRegistry);
    const echo = registry.get('echo');
    await lastValueFrom(echo.unary('Unary', { message: 'warm' }));
    await lastValueFrom(registry.get('other').serverStream('ServerStream', { count: 2 }));
    expect(proxy.openConnections).toBe(2);
    expect(handles().TCPSocketWrap ?? 0).toBeGreaterThan(baseline.TCPSocketWrap ?? 0);

    await app.close();
    await proxy.allClosed();
    await settle();
    expect(proxy.openConnections).toBe(0);
    const after = handles();
    expect(after.TCPSocketWrap ?? 0).toBe(baseline.TCPSocketWrap ?? 0);
    expect(after.Timeout ?? 0).toBeLessThanOrEqual(baseline.Timeout ?? 0);

    const error: unknown = await lastValueFrom(echo.unary('Unary', {})).catch((e: unknown) => e);
    expect(isMeshClientError(error)).toBe(true);
    expect(error).toMatchObject({ category: 'unavailable', retryable: false, attempts: 0 });
    expect((error as Error).message).toMatch(/client 'echo' is closed \(the application is shutting down\)/);
    expect(proxy.opened).toBe(2);
  });

  it('cancels calls still in flight after the drain timeout with a clear error, and the server sees it', async () => {
    const app = await createTestApp({ clients: [echoClient(proxy.target, { drainTimeoutMs: 100 })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    const cancelled = server.nextCancellation();
    const arrived = server.calls.length;
    const pending = lastValueFrom(echo.serverStream('ServerStream', { count: -1 })).catch((e: unknown) => e);
    expect(await eventually(() => server.calls.length > arrived, 2000)).toBe(true);
    expect(echo.inflight).toBe(1);
    await app.close();
    const error = await pending;
    expect(error).toMatchObject({ category: 'cancelled', method: 'ServerStream' });
    expect((error as Error).message).toMatch(/did not finish within drainTimeoutMs=100/);
    expect(await cancelled).toBe('ServerStream');
    expect(echo.inflight).toBe(0);
    await proxy.allClosed();
  });

  it('a queued call given the permit of a call cancelled at shutdown starts no attempt: both end cancelled, nothing more is sent', async () => {
    let closing = false;
    let startedWhileClosing = 0;
    // the first call holds the only permit in a beforeAttempt that never settles
    const hold: MeshClientPlugin = {
      name: 'hold',
      beforeAttempt: (a) => {
        if (closing) startedWhileClosing++;
        return a.metadata.get('x-hold').length > 0 ? new Promise<never>(() => undefined) : undefined;
      },
    };
    const app = await createTestApp({
      clients: [echoClient(proxy.target, { drainTimeoutMs: 30, plugins: [hold], concurrency: { limit: 1, maxQueue: 10 } })],
    });
    const echo = app.get(MeshClientRegistry).get('echo');
    const held = lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-hold': '1' } })).catch((e: unknown) => e);
    const queued = lastValueFrom(echo.unary('Unary', {})).catch((e: unknown) => e);
    expect(await eventually(() => echo.inflight === 2, 2000)).toBe(true);
    closing = true;
    await app.close();
    for (const error of [await held, await queued]) {
      expect(error).toMatchObject({ category: 'cancelled' });
      expect((error as Error).message).toMatch(/did not finish within drainTimeoutMs=30/);
    }
    expect(startedWhileClosing).toBe(0);
    expect(server.calls.length).toBe(0);
    expect(proxy.opened).toBe(0); // no connection was ever made
  });
});
