import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SCRIPT = fileURLToPath(new URL('./peers/c-core-server.py', import.meta.url));
/** Debian's interpreter, where python3-grpcio (gRPC C-core) is installed (`.ci/run` installs it). */
const PYTHON = '/usr/bin/python3';

/** Where a C-core peer's TLS material lives (file paths), or nothing for plaintext. */
export interface CCoreTls {
  ca: string;
  cert: string;
  key: string;
  requireClientCert: boolean;
}

/**
 * A gRPC C-core server (python3-grpcio) of mesh.test.Echo/Unary on 127.0.0.1, for the behaviour of
 * peers that are not grpc-js: TLS alerts, ping policy. Fails clearly when python3-grpcio is missing.
 */
export class CCorePeer {
  port = 0;

  private constructor(private readonly child: ChildProcessWithoutNullStreams) {}

  static async start(tls?: CCoreTls): Promise<CCorePeer> {
    const args = tls ? [tls.ca, tls.cert, tls.key, ...(tls.requireClientCert ? ['require-client-cert'] : [])] : ['-', '-', '-'];
    const child = spawn(PYTHON, [SCRIPT, ...args]);
    const peer = new CCorePeer(child);
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += String(d)));
    peer.port = await new Promise<number>((resolve, reject) => {
      child.stdout.once('data', (d: Buffer) => resolve(Number(String(d).trim())));
      child.once('exit', (code) =>
        reject(new Error(`the C-core peer (${PYTHON} with python3-grpcio) did not start (exit ${String(code)}): ${stderr.trim()}`)),
      );
      child.once('error', reject);
    });
    return peer;
  }

  get target(): string {
    return `127.0.0.1:${String(this.port)}`;
  }

  async stop(): Promise<void> {
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.stdin.end();
    await exited;
  }
}
