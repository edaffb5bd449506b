import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultInjectionPlugin, LoggingPlugin, MeshClientRegistry, TokenPlugin, isMeshConfigError } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { failureOf } from '../support/errors.js';
import { LogCapture } from '../support/log-capture.js';
import { writeAtomic } from '../support/pki.js';
import { createTestApp, echoClient, moduleStartError } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

describe('TokenPlugin', () => {
  let valid = 'tok-fresh-1';
  let server: EchoServer;
  beforeAll(async () => {
    server = await startEchoServer({ requireToken: () => valid });
  });
  afterAll(() => server.stop());

  it('20 concurrent calls with an expired token: one refresh for all, every call succeeds on its replay, at most two attempts each', async () => {
    valid = 'tok-fresh-1';
    const asked: boolean[] = [];
    let next = 'tok-expired';
    const source = async ({ refresh }: { refresh: boolean }): Promise<string> => {
      asked.push(refresh);
      await new Promise((r) => setTimeout(r, 20));
      const token = next;
      next = 'tok-fresh-1';
      return token;
    };
    const app = await createTestApp({ clients: [echoClient(server.target, { retry: false, plugins: [new TokenPlugin({ source })] })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    const before = server.calls.length;
    const results = await Promise.all(Array.from({ length: 20 }, () => lastValueFrom(echo.unary('Unary', {}))));
    expect(results).toHaveLength(20);
    expect(asked).toEqual([false, true]);
    expect(server.calls.length - before).toBeLessThanOrEqual(40);
    expect(server.metadataSeen.slice(-20).every((m) => m.get('authorization')[0] === 'Bearer tok-fresh-1')).toBe(true);
    await app.close();
  });

  it('a token file rewritten on disk is used by the next call', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'mesh-token-')), 'token');
    writeAtomic(file, 'tok-file-a\n');
    valid = 'tok-file-a';
    const app = await createTestApp({ clients: [echoClient(server.target, { retry: false, plugins: [new TokenPlugin({ file })] })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    await lastValueFrom(echo.unary('Unary', {}));
    expect(server.metadataSeen.at(-1)!.get('authorization')).toEqual(['Bearer tok-file-a']);
    writeAtomic(file, 'tok-file-b\n');
    valid = 'tok-file-b';
    // the next call carries the new token: seen through the file watch, or at the latest when the
    // server refuses the old one (the file is read again and the call replayed)
    const before = server.calls.length;
    await lastValueFrom(echo.unary('Unary', {}));
    expect(server.metadataSeen.at(-1)!.get('authorization')).toEqual(['Bearer tok-file-b']);
    expect(server.calls.length - before).toBeLessThanOrEqual(2);
    // and once the watch saw the change, calls carry it from their first attempt
    expect(await eventually(() => server.metadataSeen.at(-1)!.get('authorization')[0] === 'Bearer tok-file-b', 1000)).toBe(true);
    writeAtomic(file, 'tok-file-c\n');
    valid = 'tok-file-c';
    await eventually(() => false, 300); // the watch event of the rename arrives within milliseconds
    const beforeC = server.calls.length;
    await lastValueFrom(echo.unary('Unary', {}));
    expect(server.calls.length - beforeC).toBe(1);
    expect(server.metadataSeen.at(-1)!.get('authorization')).toEqual(['Bearer tok-file-c']);
    await app.close();
  });

  // A FIFO would hold a libuv thread for ever per fetch (four of them stop every fs and DNS
  // lookup of the process); /dev/zero would fill the memory.
  it.each([
    ['a FIFO', (dir: string) => (execFileSync('mkfifo', [join(dir, 'token')]), join(dir, 'token')), 'a FIFO, not a regular file'],
    ['/dev/zero', () => '/dev/zero', 'a device, not a regular file'],
    [
      'a file over 64 KiB',
      (dir: string) => (writeFileSync(join(dir, 'token'), 'x'.repeat(65537)), join(dir, 'token')),
      '65537 bytes, over the 65536 a token file may hold',
    ],
  ])('a token file that is %s fails the call at once, naming what it is', async (_what, make, reason) => {
    const file = make(mkdtempSync(join(tmpdir(), 'mesh-token-')));
    const app = await createTestApp({ clients: [echoClient(server.target, { retry: false, plugins: [new TokenPlugin({ file })] })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    const began = performance.now();
    for (let i = 0; i < 6; i++) {
      const error = await failureOf(lastValueFrom(echo.unary('Unary', {}, { timeoutMs: 5000 })));
      expect(error.category).not.toBe('timeout');
      expect(`${error.message} ${String((error.cause as Error | undefined)?.message)}`).toContain(`cannot read the token file (${reason})`);
    }
    expect(performance.now() - began).toBeLessThan(3000);
    await app.close();
  });

  it('never puts the token in an error or a log line', async () => {
    const logs = LogCapture.install();
    try {
      const app = await createTestApp({
        plugins: [new LoggingPlugin()],
        clients: [echoClient(server.target, { retry: false, plugins: [new TokenPlugin({ source: () => 'tok-s3cret-never-valid' })] })],
      });
      const error = await failureOf(lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {})));
      expect(error.category).toBe('unauthenticated');
      expect(`${error.message} ${String(error.cause)}`).not.toContain('s3cret');
      await app.close();
      expect(logs.lines.join('\n')).not.toContain('s3cret');
    } finally {
      LogCapture.uninstall();
    }
  });
});

describe('LoggingPlugin', () => {
  let server: EchoServer;
  let logs: LogCapture;
  beforeAll(async () => {
    logs = LogCapture.install();
    server = await startEchoServer();
  });
  afterAll(async () => {
    LogCapture.uninstall();
    await server.stop();
  });

  it('one line per call by outcome: successes and expected answers (NOT_FOUND) at debug, failures of the callee and slow calls at warn, metadata values redacted unless safe', async () => {
    const app = await createTestApp({ plugins: [new LoggingPlugin({ slowMs: 100 })], clients: [echoClient(server.target, { retry: false })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    logs.lines.length = 0;
    await lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-request-id': 'req-1', 'x-secret': 'hush' } }));
    await failureOf(lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-status': '5' } })));
    await failureOf(lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-status': '14' } })));
    await lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-delay-ms': '150' } }));
    const lines = logs.lines.filter((l) => l.includes('echo Unary'));
    expect(lines).toHaveLength(4);
    expect(lines[0]).toMatch(/^debug echo Unary OK attempts=1 [\d.]+ms metadata\{x-request-id=req-1 x-secret=\[redacted\]\}/);
    expect(lines[1]).toMatch(/^debug echo Unary NOT_FOUND attempts=1 .*: \[echo\] \/mesh\.test\.Echo\/Unary failed: NOT_FOUND/);
    expect(lines[2]).toMatch(/^warn echo Unary UNAVAILABLE attempts=1 .*: \[echo\] \/mesh\.test\.Echo\/Unary failed: UNAVAILABLE/);
    expect(lines[3]).toMatch(/^warn echo Unary OK attempts=1 .*\(slower than 100ms\)/);
    expect(logs.lines.join('\n')).not.toContain('hush');
    await app.close();
  });

  it('levels are configurable by outcome: NOT_FOUND as a warning, successes not at all', async () => {
    const plugin = new LoggingPlugin({ levels: { 'not-found': 'warn', ok: 'off' } });
    const app = await createTestApp({ plugins: [plugin], clients: [echoClient(server.target, { retry: false })] });
    const echo = app.get(MeshClientRegistry).get('echo');
    logs.lines.length = 0;
    await lastValueFrom(echo.unary('Unary', {}));
    await failureOf(lastValueFrom(echo.unary('Unary', {}, { metadata: { 'x-test-status': '5' } })));
    const lines = logs.lines.filter((l) => l.includes('echo Unary'));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^warn echo Unary NOT_FOUND/);
    await app.close();
  });
});

describe('FaultInjectionPlugin', () => {
  let server: EchoServer;
  beforeAll(async () => {
    server = await startEchoServer();
  });
  afterAll(() => server.stop());

  async function run(seed: number): Promise<{ ok: number; outcomes: string[]; sent: number }> {
    const faults = new FaultInjectionPlugin({ methods: { Unary: { abortPercent: 30, abortCode: 'UNAVAILABLE' } }, seed });
    const app = await createTestApp({
      clients: [
        echoClient(server.target, {
          breaker: false,
          retry: { maxAttempts: 3, initialBackoffMs: 1, maxBackoffMs: 1, jitter: 0, budget: false },
          plugins: [faults],
        }),
      ],
    });
    const echo = app.get(MeshClientRegistry).get('echo');
    const before = server.calls.length;
    const outcomes: string[] = [];
    for (let i = 0; i < 1000; i++) {
      outcomes.push(
        await lastValueFrom(echo.unary('Unary', {})).then(
          () => 'ok',
          (e: { category: string; attempts: number }) => `${e.category}/${String(e.attempts)}`,
        ),
      );
    }
    await app.close();
    return { ok: outcomes.filter((o) => o === 'ok').length, outcomes, sent: server.calls.length - before };
  }

  it('aborts 30% of attempts through the real retry path: success matches 1 - 0.3^3, and the same seed gives the same faults', async () => {
    const first = await run(42);
    // 1 - 0.3^3 = 97.3%; 1,000 calls: 3 standard deviations are about 1.5 points
    expect(first.ok / 1000).toBeGreaterThan(0.955);
    expect(first.ok / 1000).toBeLessThan(0.99);
    expect(first.outcomes.filter((o) => o !== 'ok').every((o) => o === 'unavailable/3')).toBe(true);
    // injected faults never reach the server: only the attempts that were let through did
    expect(first.sent).toBe(first.ok);
    const again = await run(42);
    expect(again.outcomes).toEqual(first.outcomes);
    const other = await run(7);
    expect(other.outcomes).not.toEqual(first.outcomes);
  }, 60_000);

  it('is refused at start when NODE_ENV=production, unless allowInProduction', async () => {
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      const client = echoClient(server.target);
      const refused = await moduleStartError({
        requireMtls: false,
        plugins: [new FaultInjectionPlugin({ all: { abortPercent: 1 } })],
        clients: [client],
      });
      expect(isMeshConfigError(refused) && refused.message).toContain('is refused when NODE_ENV=production');
      const allowed = await moduleStartError({
        requireMtls: false,
        plugins: [new FaultInjectionPlugin({ all: { abortPercent: 1 }, allowInProduction: true })],
        clients: [client],
      });
      expect(allowed).toBeUndefined();
    } finally {
      process.env.NODE_ENV = previous;
    }
  });

  it('delays a share of attempts', async () => {
    const app = await createTestApp({
      clients: [echoClient(server.target, { plugins: [new FaultInjectionPlugin({ all: { delayMs: 200, delayPercent: 100 }, seed: 1 })] })],
    });
    const started = Date.now();
    await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}));
    expect(Date.now() - started).toBeGreaterThanOrEqual(190);
    await app.close();
  });
});
