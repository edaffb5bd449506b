import type { TestingModule } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry, type MeshClientError } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { createTestApp, echoClient } from '../support/test-app.js';

const MiB = 1024 * 1024;

describe('message size limits', () => {
  let server: EchoServer;
  let app: TestingModule;

  beforeAll(async () => {
    server = await startEchoServer({ maxMessageBytes: 16 * MiB });
    app = await createTestApp({
      clients: [echoClient(server.target), echoClient(server.target, { name: 'big', maxMessageBytes: 8 * MiB })],
    });
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
  });

  const call = (client: string, req: EchoRequest) =>
    lastValueFrom(app.get(MeshClientRegistry).get(client).unary<EchoRequest, EchoReply>('Unary', req));

  it("a 5 MiB request is the caller's fault: invalid-request naming the 4 MiB default limit, nothing sent", async () => {
    const before = server.calls.length;
    const error = (await call('echo', { payload: Buffer.alloc(5 * MiB) }).catch((e: unknown) => e)) as MeshClientError;
    expect(error).toMatchObject({ category: 'invalid-request', retryable: false, attempts: 0 });
    expect(error.message).toContain('maxMessageBytes=4194304');
    expect(server.calls.length).toBe(before);
  });

  it('a 5 MiB response fails with resource-exhausted naming the limit', async () => {
    const error = (await call('echo', { replyBytes: 5 * MiB }).catch((e: unknown) => e)) as MeshClientError;
    expect(error.category).toBe('resource-exhausted');
    expect(error.message).toContain('maxMessageBytes=4194304');
  });

  it('with maxMessageBytes 8 MiB both succeed', async () => {
    const sent = await call('big', { payload: Buffer.alloc(5 * MiB) });
    expect(sent.index).toBe(0);
    const received = await call('big', { replyBytes: 5 * MiB });
    expect(received.payload.length).toBe(5 * MiB);
  });
});
