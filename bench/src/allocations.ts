import { fork } from 'node:child_process';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { ALL_OFF, ALL_ON, meshContender, rawContender, type Contender } from './contenders.js';
import { timedRound } from './measure.js';

interface SampleNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SampleNode[];
}

/**
 * Bytes allocated per call by allocation site, garbage included (V8's sampling heap profiler with
 * collected objects kept), for one contender alone:
 *   node bench/dist/allocations.js [all|off|raw] [seconds] [top]
 */
async function main(): Promise<void> {
  const [which = 'all', seconds = '4', top = '25'] = process.argv.slice(2);
  const child = fork(fileURLToPath(new URL('./server.js', import.meta.url)), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'], execArgv: [] });
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  const target = `127.0.0.1:${port}`;
  const c: Contender =
    which === 'raw' ? rawContender(target) : await meshContender(which, target, which === 'off' ? ALL_OFF : ALL_ON, which === 'all');
  await c.around(() => timedRound(() => c.unary(), 128, 1000));
  const session = new Session();
  session.connect();
  await session.post('HeapProfiler.startSampling', {
    samplingInterval: 512,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  const round = await c.around(() => timedRound(() => c.unary(), 128, Number(seconds) * 1000));
  const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: SampleNode } };
  const sites = new Map<string, number>();
  const walk = (node: SampleNode): void => {
    const f = node.callFrame;
    const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(libs|bench)\//, '$1/')}:${String(f.lineNumber + 1)}`;
    sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
    node.children.forEach(walk);
  };
  walk(profile.head);
  const total = [...sites.values()].reduce((a, b) => a + b, 0);
  process.stdout.write(`${which}: ${(total / round.calls).toFixed(0)} bytes allocated per call\n`);
  for (const [site, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
    process.stdout.write(`${(bytes / round.calls).toFixed(0).padStart(7)}  ${site}\n`);
  }
  session.disconnect();
  await c.close();
  child.disconnect();
}

void main();
