import { lastValueFrom, of } from 'rxjs';
import { describe, expect, it } from 'vitest';
import type { MeshClientError } from '@datapunk/mesh-client';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { useEchoApp } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

const MiB = 1024 * 1024;

describe('iterate(): flow-controlled consumption', () => {
  const fx = useEchoApp({ retry: false });

  it('a server flooding a consumer that takes 2 ms per message for 10 s: client heap grows under 20 MB, the server is held back', async () => {
    const heapAfterGc = (): number => {
      global.gc!();
      return process.memoryUsage().heapUsed;
    };
    const heapBefore = heapAfterGc();
    let consumed = 0;
    let heapPeak = heapBefore;
    const until = performance.now() + 10_000;
    for await (const reply of fx.echo.iterate<EchoRequest, EchoReply>(
      'ServerStream',
      { count: -1 },
      { metadata: { 'x-test-flood': '1024' }, timeoutMs: 20_000 },
    )) {
      expect(reply.payload.length).toBe(1024);
      consumed++;
      await new Promise((r) => setTimeout(r, 2));
      if (consumed % 500 === 0) heapPeak = Math.max(heapPeak, heapAfterGc());
      if (performance.now() > until) break;
    }
    const growth = (heapPeak - heapBefore) / MiB;
    console.log(
      `iterate: ${String(consumed)} messages consumed, ${String(fx.server.flooded)} written by the server, ${String(fx.server.backpressured)} writes held back, heap growth ${growth.toFixed(1)} MB`,
    );
    expect(growth).toBeLessThan(20);
    expect(fx.server.backpressured).toBeGreaterThan(0);
    // what the server wrote is what was consumed plus what the buffers on the way hold (a few hundred KB)
    expect(fx.server.flooded - consumed).toBeLessThan(1000);
    // leaving the loop cancelled the call on the wire
    expect(await eventually(() => fx.server.cancelled.includes('ServerStream'), 2000)).toBe(true);
  }, 30_000);

  it('a bidi call with an AsyncIterable of requests; break cancels it', async () => {
    async function* requests(): AsyncGenerator<EchoRequest> {
      for (let i = 0; i < 1000; i++) {
        yield { message: `m${String(i)}` };
        await new Promise((r) => setTimeout(r, 1));
      }
    }
    const seen: string[] = [];
    const cancelled = fx.server.nextCancellation();
    for await (const reply of fx.echo.iterate<EchoRequest, EchoReply>('Bidi', requests())) {
      seen.push(reply.message);
      if (seen.length === 3) break;
    }
    expect(seen).toEqual(['m0', 'm1', 'm2']);
    expect(await cancelled).toBe('Bidi');
  });

  it('ends with the server stream, and fails with a MeshClientError', async () => {
    const all: number[] = [];
    for await (const reply of fx.echo.iterate<EchoRequest, EchoReply>('ServerStream', { count: 3 })) all.push(reply.index);
    expect(all).toEqual([0, 1, 2]);
    const failing = fx.echo.iterate('ServerStream', { count: 1 }, { metadata: { 'x-test-status': '5' } });
    const error = await (async () => {
      try {
        for await (const _ of failing) void _;
      } catch (e) {
        return e as MeshClientError;
      }
      return undefined;
    })();
    expect(error).toMatchObject({ category: 'not-found' });
    const wrongKind = fx.echo.iterate('Unary', {})[Symbol.asyncIterator]().next();
    await expect(wrongKind).rejects.toMatchObject({ category: 'invalid-request' });
    expect(await lastValueFrom(fx.echo.bidiStream('Bidi', of({ message: 'still fine' })))).toMatchObject({ message: 'still fine' });
  });
});
