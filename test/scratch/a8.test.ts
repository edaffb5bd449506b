import { retry, tap, lastValueFrom } from 'rxjs';
import { expect, it } from 'vitest';
import { MeshClientRegistry, type MeshClientPlugin } from '@datapunk/mesh-client';
import { startEchoServer } from '../support/echo-server.js';
import { createTestApp, echoClient } from '../support/test-app.js';

it('a8d', async () => {
  const server = await startEchoServer();
  let subs = 0;
  const plugin: MeshClientPlugin = {
    name: 'stubborn',
    intercept: (call, next) =>
      next.handle(call).pipe(
        tap({
          subscribe: () => {
            subs++;
            if (subs % 1000 === 0) console.log('subs', subs, new Error().stack?.split('\n').slice(1, 12).join('\n'));
          },
        }),
        retry(),
      ),
  };
  const app = await createTestApp({ clients: [echoClient(server.target, { timeoutMs: 300, retry: false, breaker: false, plugins: [plugin] })] });
  const echo = app.get(MeshClientRegistry).get('echo');
  await lastValueFrom(echo.unary('Unary', { message: 'warm' }));
  const t0 = Date.now();
  const r = await lastValueFrom(echo.unary('Unary', { message: 'hi' }, { metadata: { 'x-test-delay-ms': '1000' } })).catch((e) => e);
  console.log('settled', String(r), Date.now() - t0, 'subs', subs);
  await app.close();
  await server.stop();
  expect(true).toBe(true);
}, 10000);
