import { readFileSync } from 'node:fs';
import { frameLabel, type ProfileNode } from './frames.js';

/** Prints the top frames by self time of a .cpuprofile: node bench/dist/top-frames.js FILE [N] */
const [file, n = '30'] = process.argv.slice(2);
const profile = JSON.parse(readFileSync(file!, 'utf8')) as { nodes: ProfileNode[] };
const total = profile.nodes.reduce((s, node) => s + node.hitCount, 0);
const byFrame = new Map<string, number>();
for (const node of profile.nodes) {
  const key = frameLabel(node);
  byFrame.set(key, (byFrame.get(key) ?? 0) + node.hitCount);
}
const rows = [...byFrame.entries()].sort((a, b) => b[1] - a[1]).slice(0, Number(n));
for (const [key, hits] of rows) process.stdout.write(`${((hits / total) * 100).toFixed(1).padStart(5)}%  ${key}\n`);
