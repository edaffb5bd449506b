import type { TestingModule } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, type MeshClientError } from '@datapunk/mesh-client';
import { MeshFake } from '@datapunk/mesh-client/testing';
import { echoProto, type EchoReply, type EchoRequest } from '../support/protos.js';
import { createTestApp, echoClient } from '../support/test-app.js';

const MiB = 1024 * 1024;

describe('message size limits', () => {
  let fake: MeshFake;
  let app: TestingModule;

  beforeAll(async () => {
    // a fake takes and sends messages of any size: the limits under test are the client's
    fake = await MeshFake.start(echoProto, {
      Unary: (req: EchoRequest) => ({ payload: Buffer.alloc(req.replyBytes ?? 0, 7), received: req.payload?.length ?? 0 }),
    });
    app = await createTestApp({
      clients: [echoClient(fake.target), echoClient(fake.target, { name: 'big', maxMessageBytes: 8 * MiB })],
    });
  });
  afterAll(async () => {
    await app.close();
    await fake.close();
  });

  const call = (client: string, req: EchoRequest) =>
    lastValueFrom(app.get(MeshClientRegistry).get(client).unary<EchoRequest, EchoReply>('Unary', req));

  it("a 5 MiB request is the caller's fault: invalid-request naming the 4 MiB default limit, nothing sent", async () => {
    const before = fake.calls().length;
    const error = (await call('echo', { payload: Buffer.alloc(5 * MiB) }).catch((e: unknown) => e)) as MeshClientError;
    expect(error).toMatchObject({ category: 'invalid-request', retryable: false, attempts: 0 });
    expect(error.message).toContain('maxMessageBytes=4194304');
    expect(fake.calls()).toHaveLength(before);
  });

  it('a 5 MiB response fails with resource-exhausted naming the limit', async () => {
    const error = (await call('echo', { replyBytes: 5 * MiB }).catch((e: unknown) => e)) as MeshClientError;
    expect(error.category).toBe('resource-exhausted');
    expect(error.message).toContain('maxMessageBytes=4194304');
  });

  it('with maxMessageBytes 8 MiB both succeed', async () => {
    const sent = await call('big', { payload: Buffer.alloc(5 * MiB) });
    expect(sent.received).toBe(5 * MiB);
    const received = await call('big', { replyBytes: 5 * MiB });
    expect(received.payload.length).toBe(5 * MiB);
  });
});
