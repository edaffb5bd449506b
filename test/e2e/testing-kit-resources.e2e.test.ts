import { Test } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { MeshClientModule, MeshClientRegistry, type MeshClientOptions } from '@datapunk/mesh-client';
import { MeshFake, MeshTestingModule } from '@datapunk/mesh-client/testing';
import { echoProto, type EchoReply, type EchoRequest } from '../support/protos.js';
import { eventually, settle } from '../support/wait.js';

/** Active handles of this process by type, e.g. { TCPSocketWrap: 2, Timeout: 1 }. */
function handles(): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const type of process.getActiveResourcesInfo()) counts[type] = (counts[type] ?? 0) + 1;
  return counts;
}

const NAMES = Array.from({ length: 10 }, (_, i) => `service${String(i)}`);

describe('the testing kit’s footprint', () => {
  it('10 fakes for one testing module start in under 1 s and leave no socket, timer or handle after close', async ({ annotate }) => {
    for (let i = 0; i < 5; i++) await settle();
    const baseline = handles();

    const started = performance.now();
    const fakes = await Promise.all(
      NAMES.map((name, i) =>
        MeshFake.start(echoProto, { Unary: (req: EchoRequest) => ({ message: `${name}: ${req.message ?? ''}` }) }, { tls: i % 2 === 1 }),
      ),
    );
    const startMs = performance.now() - started;
    await annotate(`10 fakes (5 with mutual TLS) started in ${startMs.toFixed(0)} ms`);
    expect(startMs).toBeLessThan(1000);

    const clients: MeshClientOptions[] = NAMES.map((name) => ({ name, target: `dns:///${name}.shop.svc:50051`, proto: echoProto, insecure: true }));
    const moduleRef = await Test.createTestingModule({
      imports: [MeshClientModule.forRoot({ clients }), MeshTestingModule.withFakes(Object.fromEntries(NAMES.map((name, i) => [name, fakes[i]!])))],
    }).compile();
    await moduleRef.init();
    const registry = moduleRef.get(MeshClientRegistry);
    const replies = await Promise.all(
      NAMES.map((name) => lastValueFrom(registry.get(name).unary<EchoRequest, EchoReply>('Unary', { message: 'hi' }))),
    );
    expect(replies.map((r) => r.message)).toEqual(NAMES.map((name) => `${name}: hi`));
    expect(handles().TCPServerWrap ?? 0).toBe((baseline.TCPServerWrap ?? 0) + 10);
    expect(fakes.map((f) => f.connections)).toEqual(NAMES.map(() => 1));

    // calls still held by a fake when the module closes: a hang, and a delay with its timer armed
    fakes[0]!.hang();
    fakes[1]!.delay(60_000);
    const held = NAMES.slice(0, 2).map((name) =>
      lastValueFrom(registry.get(name).unary('Unary', {}, { timeoutMs: 60_000 })).catch((e: unknown) => e),
    );
    expect(await eventually(() => fakes[0]!.calls().length === 2 && fakes[1]!.calls().length === 2, 3000)).toBe(true);

    await moduleRef.close();
    expect(await Promise.all(held)).toEqual([
      expect.objectContaining({ name: 'MeshClientError' }),
      expect.objectContaining({ name: 'MeshClientError' }),
    ]);
    for (let i = 0; i < 5; i++) await settle();
    expect(fakes.map((f) => f.connections)).toEqual(NAMES.map(() => 0));
    const after = handles();
    expect(after.TCPSocketWrap ?? 0).toBe(baseline.TCPSocketWrap ?? 0);
    expect(after.TCPServerWrap ?? 0).toBe(baseline.TCPServerWrap ?? 0);
    expect(after.Timeout ?? 0).toBeLessThanOrEqual(baseline.Timeout ?? 0);
    expect(process.getActiveResourcesInfo().length).toBeLessThanOrEqual(Object.values(baseline).reduce((a, b) => a + b, 0));
  });

  it('a fake closed on its own leaves nothing behind either, and close() may be called again', async () => {
    for (let i = 0; i < 5; i++) await settle();
    const baseline = handles();
    const fake = await MeshFake.start(echoProto, {}, { tls: true });
    fake.delay(60_000);
    await fake.close();
    await fake.close();
    for (let i = 0; i < 5; i++) await settle();
    expect(handles()).toEqual(baseline);
  });
});
