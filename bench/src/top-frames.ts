import { readFileSync } from 'node:fs';

interface Node {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount: number;
  children?: number[];
}

/** Prints the top frames by self time of a .cpuprofile: node bench/dist/top-frames.js FILE [N] */
const [file, n = '30'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file!, 'utf8')) as { nodes: Node[] };
const total = profile.nodes.reduce((s, node) => s + node.hitCount, 0);
const byFrame = new Map<string, number>();
for (const node of profile.nodes) {
  const f = node.callFrame;
  const key = `${f.functionName || '(anonymous)'} ${f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(libs|bench)\//, '$1/')}:${String(f.lineNumber + 1)}`;
  byFrame.set(key, (byFrame.get(key) ?? 0) + node.hitCount);
}
const rows = [...byFrame.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(n));
for (const [key, hits] of rows) process.stdout.write(`${((hits / total) * 100).toFixed(1).padStart(5)}%  ${key}\n`);
