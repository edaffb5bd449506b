import { Session } from 'node:inspector/promises';
import { timedRound } from './measure.js';
import { startServer } from './server-process.js';
import { contenderNamed } from './variants.js';

interface SampleNode {
  callFrame: { functionName: string; url: string; lineNumber: number };
  selfSize: number;
  children: SampleNode[];
}

/**
 * Bytes allocated per call by allocation site, garbage included (V8's sampling heap profiler with
 * collected objects kept), and objects per call (sampled count), for one contender alone:
 *   npm run bench -- --node 26 allocations.js [raw|off|all|plugin] [seconds] [top]
 */
const [which = 'all', seconds = '4', top = '25'] = process.argv.slice(2);
const server = await startServer();
const c = await contenderNamed(which, server.target);
await timedRound(() => c.unary(), 128, 1000);
const session = new Session();
session.connect();
const INTERVAL = 128;
await session.post('HeapProfiler.startSampling', {
  samplingInterval: INTERVAL,
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: true,
});
const round = await timedRound(() => c.unary(), 128, Number(seconds) * 1000);
const { profile } = (await session.post('HeapProfiler.stopSampling')) as unknown as { profile: { head: SampleNode; samples: { size: number }[] } };
const sites = new Map<string, number>();
const walk = (node: SampleNode): void => {
  const f = node.callFrame;
  const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(libs|bench)\//, '$1/')}:${String(f.lineNumber + 1)}`;
  sites.set(key, (sites.get(key) ?? 0) + node.selfSize);
  node.children.forEach(walk);
};
walk(profile.head);
const total = [...sites.values()].reduce((a, b) => a + b, 0);
// Each sample stands for about max(size, INTERVAL) bytes; objects ~ sum of (INTERVAL / size) for small ones.
const objects = profile.samples.reduce((n, s) => n + Math.max(1, INTERVAL / s.size), 0);
process.stdout.write(
  `${which}: ${(total / round.calls).toFixed(0)} bytes and about ${(objects / round.calls).toFixed(0)} objects allocated per call\n`,
);
for (const [site, bytes] of [...sites].sort((a, b) => b[1] - a[1]).slice(0, Number(top))) {
  process.stdout.write(`${(bytes / round.calls).toFixed(0).padStart(7)}  ${site}\n`);
}
session.disconnect();
await c.close();
server.stop();
