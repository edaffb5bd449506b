import { lastValueFrom } from 'rxjs';
import { afterEach, describe, expect, it } from 'vitest';
import { MeshClientRegistry, isMeshConfigError, type MeshClient } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { failureOf } from '../support/errors.js';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { createTestApp, echoClient } from '../support/test-app.js';
import type { TestingModule } from '@nestjs/testing';
import { eventually } from '../support/wait.js';

/** Runs `total` unary calls, `concurrency` at a time; returns how many failed. */
async function load(client: MeshClient, total: number, concurrency: number, onEach?: (i: number) => void | Promise<void>): Promise<number> {
  let next = 0;
  let failed = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      await onEach?.(i);
      await lastValueFrom(client.unary('Unary', { message: String(i) })).catch(() => failed++);
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return failed;
}

const calls = (server: EchoServer): number => server.calls.length;

describe('connections and scale-out', () => {
  const servers: EchoServer[] = [];
  const apps: TestingModule[] = [];
  const start = async (port?: number): Promise<EchoServer> => {
    const s = await startEchoServer({ port });
    servers.push(s);
    return s;
  };
  const app = async (...args: Parameters<typeof createTestApp>): Promise<MeshClient> => {
    const a = await createTestApp(...args);
    apps.push(a);
    return a.get(MeshClientRegistry).get('echo');
  };
  afterEach(async () => {
    await Promise.all(apps.splice(0).map((a) => a.close()));
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  it("compression: 'gzip' shrinks requests on the wire; the default sends them as they are", async () => {
    const server = await start();
    const message = 'mesh '.repeat(40_000); // 200 kB, very compressible
    const sent: Record<string, number> = {};
    for (const compression of ['identity', 'gzip'] as const) {
      const proxy = await new TcpProxy(server.port).start();
      const echo = await app({ clients: [echoClient(proxy.target, { compression })] });
      expect((await lastValueFrom(echo.unary<EchoRequest, EchoReply>('Unary', { message }))).message).toBe(message);
      sent[compression] = proxy.bytesFromClients;
      await proxy.stop();
    }
    expect(sent.identity).toBeGreaterThan(200_000);
    expect(sent.gzip).toBeLessThan(20_000);
  });

  it('pool.size 4: the server sees 4 distinct connections, 1,000 calls spread over them evenly', async () => {
    const server = await start();
    const echo = await app({ clients: [echoClient(server.target, { pool: { size: 4 } })] });
    expect(await load(echo, 1000, 16)).toBe(0);
    const byPeer = new Map<string, number>();
    for (const peer of server.peers) byPeer.set(peer, (byPeer.get(peer) ?? 0) + 1);
    expect(byPeer.size).toBe(4);
    for (const n of byPeer.values()) expect(n).toBe(250);
  });

  it('3 backends, round_robin: 3,000 calls spread within 10% of even', async () => {
    const backends = [await start(), await start(), await start()];
    const target = `ipv4:${backends.map((b) => b.target).join(',')}`;
    const echo = await app({ clients: [echoClient(target, { loadBalancing: 'round_robin' })] });
    expect(await load(echo, 3000, 16)).toBe(0);
    for (const b of backends) {
      expect(calls(b)).toBeGreaterThanOrEqual(900);
      expect(calls(b)).toBeLessThanOrEqual(1100);
    }
  });

  it('kill 1 of 3 backends during 2,000 calls at concurrency 32: 0 failed; no traffic while dead; traffic again within 5 s of its restart', async () => {
    const backends = [await start(), await start(), await start()];
    const target = `ipv4:${backends.map((b) => b.target).join(',')}`;
    const echo = await app({
      clients: [echoClient(target, { loadBalancing: 'round_robin', retry: { maxAttempts: 5, budget: false }, breaker: false })],
    });
    const victim = backends[1]!;
    let killed = false;
    const failed = await load(echo, 2000, 32, async (i) => {
      if (i === 500) {
        killed = true;
        await victim.stop();
      }
    });
    expect(killed).toBe(true);
    expect(failed).toBe(0);
    const served = calls(victim);
    expect(await load(echo, 300, 8)).toBe(0);
    expect(calls(victim)).toBe(served); // the dead one got nothing

    const revived = await start(victim.port);
    const restarted = performance.now();
    while (calls(revived) === 0 && performance.now() - restarted < 5000) await load(echo, 20, 4);
    expect(calls(revived)).toBeGreaterThan(0);
    expect(performance.now() - restarted).toBeLessThan(5000);
  });

  it('restarting the only backend between two calls: the second call succeeds', async () => {
    const first = await start();
    const echo = await app({ clients: [echoClient(first.target)] });
    await lastValueFrom(echo.unary('Unary', { message: 'before' }));
    await first.stop();
    await start(first.port);
    await expect(lastValueFrom(echo.unary('Unary', { message: 'after' }))).resolves.toMatchObject({ message: 'after' });
  });

  it('waitForReady: a server that starts 700 ms after the first call; the call waits for it, without it the call fails fast', async () => {
    const probe = await start();
    const port = probe.port;
    await probe.stop();
    const echo = await app({ clients: [echoClient(`127.0.0.1:${String(port)}`)] });
    const started = performance.now();
    const late = new Promise<EchoServer>((resolve) => setTimeout(() => resolve(start(port)), 700));
    const waiting = lastValueFrom(echo.unary('Unary', { message: 'patient' }, { waitForReady: true, timeoutMs: 3000 }));
    const impatient = await failureOf(lastValueFrom(echo.unary('Unary', { message: 'hasty' }, { timeoutMs: 3000 })));
    expect(impatient.category).toBe('unavailable');
    expect(performance.now() - started).toBeLessThan(700);
    await late;
    await expect(waiting).resolves.toMatchObject({ message: 'patient' });
    expect(performance.now() - started).toBeLessThan(3000);
  });

  it('after the connection idles out, the next call reconnects', async () => {
    const server = await start();
    const proxy = await new TcpProxy(server.port).start();
    try {
      const echo = await app({ clients: [echoClient(proxy.target, { idleTimeoutMs: 1000 })] });
      await lastValueFrom(echo.unary('Unary', { message: 'one' }));
      expect(proxy.opened).toBe(1);
      await proxy.allClosed(); // the idle channel let its connection go
      await expect(lastValueFrom(echo.unary('Unary', { message: 'two' }))).resolves.toMatchObject({ message: 'two' });
      expect(proxy.opened).toBe(2);
    } finally {
      await proxy.stop();
    }
  });

  it('a backend that never completes the connection fails the attempt after connectTimeoutMs, not at the deadline', async () => {
    const server = await start();
    const proxy = await new TcpProxy(server.port).start();
    proxy.blackhole = true; // TCP accepted, then silence: the HTTP/2 handshake never completes
    try {
      const echo = await app({ clients: [echoClient(proxy.target, { connectTimeoutMs: 200, retry: false })] });
      const started = performance.now();
      const error = await lastValueFrom(echo.unary('Unary', {}, { timeoutMs: 10_000 })).catch((e: unknown) => e);
      const elapsed = performance.now() - started;
      expect(error).toMatchObject({ category: 'unavailable', retryable: true, attempts: 1 });
      expect((error as Error).message).toMatch(/no connection to .* within connectTimeoutMs=200/);
      expect(elapsed).toBeGreaterThanOrEqual(190);
      expect(elapsed).toBeLessThan(1500);
    } finally {
      await proxy.stop();
    }
  });

  it('outlier detection ejects a backend that keeps failing', async () => {
    const backends = [await start(), await start(), await start()];
    const bad = backends[2]!;
    bad.outage = 14;
    const target = `ipv4:${backends.map((b) => b.target).join(',')}`;
    const outlierDetection = { intervalMs: 100, failurePercentage: { threshold: 50, minimumHosts: 3, requestVolume: 5 } };
    const echo = await app({ clients: [echoClient(target, { loadBalancing: 'round_robin', outlierDetection, retry: false, breaker: false })] });
    // round robin under outlier detection: every backend gets calls (grpc-js falls back to
    // pick_first, all on the first address, when it cannot parse the policy's config)
    await load(echo, 30, 3);
    expect(backends.map((b) => calls(b) > 0)).toEqual([true, true, true]);
    // Rounds of load until one sends the bad backend nothing (ejection runs every intervalMs).
    const ejected = await eventually(async () => {
      const seen = calls(bad);
      await load(echo, 30, 3);
      return calls(bad) === seen;
    }, 5000);
    expect(ejected).toBe(true);
    const before = calls(bad);
    const failed = await load(echo, 300, 3);
    expect(calls(bad)).toBe(before); // ejected: no traffic
    expect(failed).toBe(0);
  });

  it('app.close() during 200 in-flight 300 ms calls: all complete; with a 100 ms drain they fail as cancelled', async () => {
    const server = await start();
    for (const [drainTimeoutMs, expectOk] of [
      [5000, true],
      [100, false],
    ] as const) {
      const a = await createTestApp({ clients: [echoClient(server.target, { drainTimeoutMs })] });
      const echo = a.get(MeshClientRegistry).get('echo');
      const arrivedBefore = calls(server);
      const results = Array.from({ length: 200 }, () =>
        lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-delay-ms': '300' } })).then(
          () => 'ok',
          (e: { category?: string }) => e.category ?? 'other',
        ),
      );
      expect(await eventually(() => calls(server) - arrivedBefore === 200, 5000)).toBe(true); // all 200 reached the server
      const closing = performance.now();
      await a.close();
      const outcomes = await Promise.all(results);
      const took = performance.now() - closing;
      if (expectOk) {
        expect(outcomes.filter((o) => o === 'ok')).toHaveLength(200);
        expect(took).toBeLessThan(2000);
      } else {
        expect(outcomes.filter((o) => o === 'cancelled')).toHaveLength(200);
        expect(took).toBeLessThan(1000);
      }
      const after = await lastValueFrom(echo.unary('Unary', {})).catch((e: unknown) => e);
      expect(after).toMatchObject({ category: 'unavailable', attempts: 0 });
    }
  });

  it("update() with a DNS server named by name (grpc-js's resolver threw a TypeError, the patch half applied): refused, the client as it was", async () => {
    const one = await start();
    const echo = await app({ clients: [echoClient(one.target, { timeoutMs: 5_000 })] });
    const error = (() => {
      try {
        echo.update({ timeoutMs: 100, target: 'dns://kube-dns/inventory:50051' });
      } catch (e) {
        return e;
      }
    })();
    expect(isMeshConfigError(error)).toBe(true);
    expect((error as Error).message).toContain("target must name its DNS server by IP address (and a port 1..65535), not 'dns://kube-dns/'");
    // neither the timeout (100 ms) nor the target of the refused patch took
    const before = calls(one);
    const slow = { metadata: { 'x-test-delay-ms': '300' } };
    expect(await lastValueFrom(echo.unary<EchoRequest, EchoReply>('Unary', { message: 'still' }, slow))).toMatchObject({ message: 'still' });
    expect(calls(one)).toBe(before + 1);
  });

  it('update({ target }) to a second server under load: 0 failed calls, traffic moves over', async () => {
    const one = await start();
    const two = await start();
    const echo = await app({ clients: [echoClient(one.target, { pool: { size: 2 } })] });
    const failed = await load(echo, 1000, 16, (i) => {
      if (i === 400) echo.update({ target: two.target, pool: { size: 3 } });
    });
    expect(failed).toBe(0);
    expect(calls(one)).toBeGreaterThanOrEqual(400);
    expect(calls(one) + calls(two)).toBe(1000);
    const before = calls(one);
    await load(echo, 100, 4);
    expect(calls(one)).toBe(before);
    expect(new Set(two.peers).size).toBe(3);
  });
});
