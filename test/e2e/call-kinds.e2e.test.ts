import { Injectable } from '@nestjs/common';
import type { TestingModule } from '@nestjs/testing';
import { Test } from '@nestjs/testing';
import { Subject, firstValueFrom, from, lastValueFrom, of, tap, toArray, type Observable } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InjectMeshClient, MeshClient, MeshClientModule, MeshClientRegistry, isMeshClientError } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import type { EchoReply, EchoRequest } from '../support/protos.js';
import { echoClient } from '../support/test-app.js';

interface EchoService {
  unary(req: EchoRequest): Observable<EchoReply>;
  serverStream(req: EchoRequest): Observable<EchoReply>;
  ClientStream(reqs: Observable<EchoRequest>): Observable<EchoReply>;
  bidi(reqs: Observable<EchoRequest>): Observable<EchoReply>;
}

@Injectable()
class Caller {
  constructor(@InjectMeshClient('echo') readonly echo: MeshClient<EchoService>) {}
}

describe('all four call kinds over real grpc-js', () => {
  let server: EchoServer;
  let moduleRef: TestingModule;
  let echo: MeshClient<EchoService>;

  beforeAll(async () => {
    server = await startEchoServer();
    moduleRef = await Test.createTestingModule({
      imports: [MeshClientModule.forRoot({ clients: [echoClient(server.target)] })],
      providers: [Caller],
    }).compile();
    await moduleRef.init();
    echo = moduleRef.get(Caller).echo;
  });
  afterAll(async () => {
    await moduleRef.close();
    await server.stop();
  });

  it('injects the client and lists it in the registry', () => {
    expect(echo).toBeInstanceOf(MeshClient);
    expect(moduleRef.get(MeshClientRegistry).get('echo')).toBe(echo);
    expect(echo.serviceName).toBe('mesh.test.Echo');
  });

  it('unary round-trips and works with lastValueFrom', async () => {
    const res = await lastValueFrom(echo.unary<EchoRequest, EchoReply>('Unary', { message: 'hi', replyBytes: 3 }));
    expect(res).toMatchObject({ message: 'hi', index: 0 });
    expect(res.payload).toEqual(Buffer.alloc(3, 7));
  });

  it('server stream delivers every message in order, then completes', async () => {
    const all = await lastValueFrom(echo.serverStream<EchoRequest, EchoReply>('ServerStream', { message: 's', count: 5 }).pipe(toArray()));
    expect(all.map((r) => r.index)).toEqual([0, 1, 2, 3, 4]);
  });

  it('client stream sends every request and gets one reply', async () => {
    const res = await lastValueFrom(
      echo.clientStream<EchoRequest, EchoReply>('ClientStream', from([{ message: 'a' }, { message: 'b' }, { message: 'c' }])),
    );
    expect(res).toMatchObject({ message: 'a,b,c', received: 3 });
  });

  it('a client stream of 150,000 messages pushed at once (from an array): every one sent, in order, in seconds', async () => {
    // the pushed messages wait for the wire in the call's queue; taking each from the front of a large array copied the array
    const messages = Array.from({ length: 150_000 }, (_, i) => ({ message: String(i % 10) }));
    const started = performance.now();
    const res = await lastValueFrom(echo.clientStream<EchoRequest, EchoReply>('ClientStream', from(messages), { timeoutMs: 120_000 }));
    expect(res.received).toBe(150_000);
    expect(res.message).toBe(messages.map((m) => m.message).join(','));
    expect(performance.now() - started).toBeLessThan(45_000);
  }, 150_000);

  it('bidi stream echoes each request', async () => {
    const all = await lastValueFrom(echo.bidiStream<EchoRequest, EchoReply>('Bidi', from([{ message: 'x' }, { message: 'y' }])).pipe(toArray()));
    expect(all.map((r) => [r.message, r.index])).toEqual([
      ['x', 0],
      ['y', 1],
    ]);
  });

  it('bidi ping-pong: each reply pushes the next request while the writer waits for it; 500 in order, none lost', async () => {
    const requests = new Subject<EchoRequest>();
    const seen: string[] = [];
    const done = lastValueFrom(
      echo.bidiStream<EchoRequest, EchoReply>('Bidi', requests).pipe(
        tap((reply) => {
          seen.push(reply.message);
          if (seen.length < 500) requests.next({ message: String(seen.length) });
          else requests.complete();
        }),
        toArray(),
      ),
    );
    requests.next({ message: '0' });
    const replies = await done;
    expect(replies).toHaveLength(500);
    expect(seen).toEqual(Array.from({ length: 500 }, (_, i) => String(i)));
  });

  it('a message that does not fit its type, pushed while the writer waits: invalid-request naming it', async () => {
    const requests = new Subject<EchoRequest>();
    const settled = lastValueFrom(echo.bidiStream('Bidi', requests).pipe(toArray())).then(
      () => 'completed',
      (error: unknown) => error,
    );
    requests.next({ message: 'ok' });
    await new Promise((resolve) => setTimeout(resolve, 50)); // the writer has written it and waits
    requests.next({ message: 5 } as unknown as EchoRequest); // what an untyped caller could push
    const error = await settled;
    expect(isMeshClientError(error) && error.category).toBe('invalid-request');
    expect((error as Error).message).toContain('request.message must be a string');
    expect(requests.observed).toBe(false); // the call let go of the caller's stream
  });

  it('getService() offers every RPC under its name and lowerCamel', async () => {
    const svc = echo.getService();
    expect(await lastValueFrom(svc.unary({ message: 'p' }))).toMatchObject({ message: 'p' });
    expect(await lastValueFrom(svc.serverStream({ count: 2 }).pipe(toArray()))).toHaveLength(2);
    expect(await lastValueFrom(svc.ClientStream(of({ message: 'q' })))).toMatchObject({ message: 'q', received: 1 });
    expect(await lastValueFrom(svc.bidi(of({ message: 'r' })))).toMatchObject({ message: 'r' });
    expect(Object.keys(svc).sort()).toEqual(['Bidi', 'ClientStream', 'ServerStream', 'Unary', 'bidi', 'clientStream', 'serverStream', 'unary']);
  });

  it("leaves the process's Error.stackTraceLimit as it was (calls start without grpc-js's caller stack)", async () => {
    const before = Error.stackTraceLimit;
    Error.stackTraceLimit = 17;
    try {
      await lastValueFrom(echo.unary('Unary', { message: 'x' }));
      await lastValueFrom(echo.bidiStream('Bidi', of({ message: 'y' })).pipe(toArray()));
      expect(Error.stackTraceLimit).toBe(17);
      expect(new Error('probe').stack!.split('\n').length).toBeGreaterThan(1);
    } finally {
      Error.stackTraceLimit = before;
    }
  });

  it('is cold: nothing is sent before subscription, each subscription is one call', async () => {
    const before = server.calls.length;
    const call$ = echo.unary('Unary', { message: 'cold' });
    await lastValueFrom(echo.unary('Unary', { message: 'a later call' })); // a round trip after the cold one was made
    expect(server.calls.length).toBe(before + 1);
    await lastValueFrom(call$);
    await lastValueFrom(call$);
    expect(server.calls.length).toBe(before + 3);
  });

  it('an unknown method fails with a clear error before any network I/O', async () => {
    const before = server.calls.length;
    // @ts-expect-error a typed client refuses the name at compile time; untyped code meets it here
    const error = await firstValueFrom(echo.unary('Nope', {})).catch((e: unknown) => e);
    expect(isMeshClientError(error)).toBe(true);
    expect(error).toMatchObject({ category: 'unimplemented', attempts: 0, method: 'Nope', client: 'echo' });
    expect((error as Error).message).toMatch(/'Nope' is not an RPC of mesh\.test\.Echo \(RPCs: Unary, ServerStream, ClientStream, Bidi\)/);
    expect(server.calls.length).toBe(before);
  });

  it('calling a method with the wrong kind names the right one', async () => {
    const error = await firstValueFrom(echo.unary('ServerStream', {})).catch((e: unknown) => e);
    expect(error).toMatchObject({ category: 'invalid-request', attempts: 0 });
    expect((error as Error).message).toMatch(/'ServerStream' is a server-stream RPC: call serverStream\(\) or iterate\(\), not unary\(\)/);
  });
});
