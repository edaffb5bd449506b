import { inspect } from 'node:util';
import type { TestingModule } from '@nestjs/testing';
import { register } from 'prom-client';
import { afterAll, beforeAll } from 'vitest';
import { LoggingPlugin, type MeshClientOptions } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer, type EchoServerOptions } from './echo-server.js';
import { everythingOf } from './errors.js';
import { LogCapture } from './log-capture.js';
import { createTestApp, echoClient } from './test-app.js';

/** An app with one client per entry (LoggingPlugin first, retry off unless given), its server and the captured Nest log. */
export function useLoggedClients(
  clients: Record<string, Partial<MeshClientOptions>>,
  serverOptions?: EchoServerOptions,
): {
  app: () => TestingModule;
  logs: () => LogCapture;
  server: () => EchoServer;
} {
  let server: EchoServer;
  let app: TestingModule;
  let logs: LogCapture;
  beforeAll(async () => {
    register.clear();
    logs = LogCapture.install();
    server = await startEchoServer(serverOptions);
    app = await createTestApp({
      clients: Object.entries(clients).map(([name, options]) =>
        echoClient(server.target, {
          name,
          retry: false,
          ...options,
          plugins: [new LoggingPlugin({ levels: { internal: 'error', timeout: 'error', ok: 'log' } }), ...(options.plugins ?? [])],
        }),
      ),
    });
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
    register.clear();
    LogCapture.uninstall();
  });
  return { app: () => app, logs: () => logs, server: () => server };
}

/** Every text a user or an operator could see of `error`: message, stack, causes, fields, inspect at any depth, and the log lines of `client` so far. */
export function everywhere(error: unknown, logs: LogCapture, client: string): string {
  return `${everythingOf(error)}\n${inspect(error, { depth: Infinity })}\n${linesOf(logs, client).join('\n')}`;
}

/** The log lines about client `client` (LoggingPlugin's start with its name; the client's warnings quote it). */
export function linesOf(logs: LogCapture, client: string): string[] {
  return logs.lines.filter(
    (l) => l.includes(`${client} /`) || l.includes(`${client} mesh.test.Echo`) || l.includes(`client '${client}'`) || l.includes(`[${client}]`),
  );
}
