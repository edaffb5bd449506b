import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ALL_OFF, ALL_ON, meshContender, rawContender, type Contender } from './contenders.js';
import { timedRound } from './measure.js';

/**
 * Runs one contender alone, for profiling its hot path:
 *   node --cpu-prof --cpu-prof-dir=bench/results bench/dist/profile.js [all|off|raw] [seconds] [concurrency]
 */
async function main(): Promise<void> {
  const [which = 'all', seconds = '10', concurrency = '128'] = process.argv.slice(2);
  const child = fork(fileURLToPath(new URL('./server.js', import.meta.url)), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  const target = `127.0.0.1:${port}`;
  const c: Contender =
    which === 'raw'
      ? rawContender(target)
      : await meshContender(
          which,
          target,
          which === 'off' ? ALL_OFF : which === 'retry' ? { ...ALL_OFF, retry: undefined } : ALL_ON,
          which === 'all',
        );
  await c.around(() => timedRound(() => c.unary(), Number(concurrency), 1000));
  const r = await c.around(() => timedRound(() => c.unary(), Number(concurrency), Number(seconds) * 1000));
  process.stdout.write(`${which}: ${r.callsPerSec.toFixed(0)} calls/s, ${r.cpuUsPerCall.toFixed(1)} µs CPU/call\n`);
  await c.close();
  child.disconnect();
}

void main();
