import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pinning } from './pinning.js';

/** The bench server in its own process, on its own core when the machine has two or more. */
export interface BenchServer {
  readonly target: string;
  stop(): void;
}

export async function startServer(): Promise<BenchServer> {
  const script = fileURLToPath(new URL('./server.js', import.meta.url));
  const pin = pinning();
  const node = [process.execPath, '--expose-gc', script];
  const [command, args] = pin ? ['taskset', ['-c', String(pin.server), ...node]] : [node[0]!, node.slice(1)];
  const child = spawn(command, args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve, reject) => {
    child.once('error', reject);
    child.stdout.once('data', (d: Buffer) => resolve(d.toString().trim()));
  });
  // The server exits when its stdin closes (this process ended or stopped it).
  return { target: `127.0.0.1:${port}`, stop: () => child.stdin.end() };
}
