import type { TestingModule } from '@nestjs/testing';
import { lastValueFrom } from 'rxjs';
import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LoggingPlugin, MeshClientRegistry, isMeshConfigError, type MeshClient, type MeshClientPlugin } from '@datapunk/mesh-client';
import { messagesOf, useUncaughtCollector } from '../support/call-guards.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { LogCapture } from '../support/log-capture.js';
import { createTestApp, echoClient, moduleStartError } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

const uncaught = useUncaughtCollector();

/** What an `async` hook that fails gives back: a Promise that rejects a turn later. */
const rejectSoon = (message: string) => async (): Promise<void> => {
  await new Promise((resolve) => setTimeout(resolve, 5));
  throw new Error(message);
};

describe('hooks and callbacks that are not awaited, made async anyway', () => {
  let server: EchoServer;
  let app: TestingModule;
  let logs: LogCapture;
  const client = (name: string): MeshClient => app.get(MeshClientRegistry).get(name);
  const warnings = (text: string): string[] => logs.lines.filter((l) => l.startsWith('warn ') && l.includes(text));

  beforeAll(async () => {
    register.clear();
    logs = LogCapture.install();
    server = await startEchoServer();
    const asyncHeaders: MeshClientPlugin = { name: 'async-headers', onHeaders: rejectSoon('onHeaders gave up') };
    const asyncLogger = new LoggingPlugin({
      levels: { ok: 'log' },
      logger: { log: rejectSoon('log line lost'), warn: rejectSoon('warn lost'), error: rejectSoon('error lost') },
    });
    app = await createTestApp({
      clients: [
        echoClient(server.target, { name: 'headers', retry: false, plugins: [asyncHeaders] }),
        echoClient(server.target, { name: 'logging', retry: false, plugins: [asyncLogger] }),
        echoClient(server.target, { name: 'plain', retry: false }),
      ],
    });
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
    register.clear();
    LogCapture.uninstall();
  });

  it("a plugin's async onHeaders that rejects: the call succeeds, a warning names the plugin and the hook, the process sees nothing", async () => {
    const reply = await lastValueFrom(client('headers').unary('Unary', { message: 'hi' }));
    expect(reply).toMatchObject({ message: 'hi' });
    expect(await eventually(() => warnings("plugin 'async-headers' failed in onHeaders").length === 1, 2000)).toBe(true);
    expect(warnings('async-headers')[0]).toContain('onHeaders gave up');
    expect(warnings('async-headers')[0]).toContain("client 'headers'");
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });

  it.each(['onHeader', 'onTrailer'] as const)(
    'an async %s callback that rejects: the call succeeds, a warning names it, the process sees nothing',
    async (name) => {
      const reply = await lastValueFrom(client('plain').unary('Unary', { message: name }, { [name]: rejectSoon(`${name} gave up`) }));
      expect(reply).toMatchObject({ message: name });
      expect(await eventually(() => warnings(`the ${name} callback`).length === 1, 2000)).toBe(true);
      expect(warnings(`the ${name} callback`)[0]).toContain(`${name} gave up`);
      expect(warnings(`the ${name} callback`)[0]).toContain('mesh.test.Echo/Unary');
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect(messagesOf(uncaught.errors)).toEqual([]);
    },
  );

  it('LoggingPlugin with an async logger that rejects: its line is lost, the call and the process are not', async () => {
    const reply = await lastValueFrom(client('logging').unary('Unary', { message: 'logged' }));
    expect(reply).toMatchObject({ message: 'logged' });
    const failed = await lastValueFrom(client('logging').unary('Unary', { message: 'x' }, { metadata: { 'x-test-status': '5' } })).catch(
      (e: unknown) => e,
    );
    expect(failed).toMatchObject({ codeName: 'NOT_FOUND' });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });

  it('appliesTo that answers with a Promise (rejected or not): the module refuses to start, naming the plugin and why', async () => {
    // a plugin written in JavaScript, or typed loosely, can do this
    const answers = [async () => true, async (): Promise<boolean> => Promise.reject(new Error('cannot tell'))] as unknown as ((
      m: unknown,
    ) => boolean)[];
    for (const appliesTo of answers) {
      const error = await moduleStartError({ clients: [echoClient(server.target, { plugins: [{ name: 'lazy', appliesTo }] })] });
      expect(isMeshConfigError(error)).toBe(true);
      expect((error as Error).message).toContain("plugin 'lazy' answered appliesTo(echo/Unary) with a Promise");
      expect((error as Error).message).toContain('must return true or false at once');
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });
});
