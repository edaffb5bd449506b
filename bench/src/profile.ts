import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { fileURLToPath } from 'node:url';
import { CPU_MEASURE } from './measure.js';
import { startServer } from './server-process.js';
import { workloadNamed } from './variants.js';
import { frameLabel, ownerOf, type Profile, type ProfileNode } from './frames.js';

/**
 * Profiles one contender alone over one measured round (warm-up excluded), pinned like the bench:
 *   npm run bench -- --node 26 profile.js [raw|off|all|plugin|bidi-raw|bidi-all|bidi-off] [seconds] [concurrency]
 * (bidi: one stream, `concurrency` messages in flight, each message counted as a call). Prints CPU
 * per call, self time by owner (package, Node subsystem, GC) in µs per call, and the top frames;
 * writes bench/results/<contender>.cpuprofile.
 */
const [which = 'all', seconds = '8', concurrency = '128'] = process.argv.slice(2);
const server = await startServer();
const work = await workloadNamed(which, server.target, Number(concurrency));
await work.round(2000);
const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
await session.post('Profiler.start');
const round = await work.round(Number(seconds) * 1000);
const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
session.disconnect();
writeFileSync(fileURLToPath(new URL(`../results/${which}.cpuprofile`, import.meta.url)), JSON.stringify(profile));
const total = profile.nodes.reduce((s, n) => s + n.hitCount, 0);
const usPerHit = (profile.endTime - profile.startTime) / total / round.calls;
const byOwner = new Map<string, number>();
const byFrame = new Map<string, number>();
for (const n of profile.nodes) {
  const owner = ownerOf(n);
  byOwner.set(owner, (byOwner.get(owner) ?? 0) + n.hitCount);
  const key = frameLabel(n);
  byFrame.set(key, (byFrame.get(key) ?? 0) + n.hitCount);
}
const line = (hits: number, label: string): string =>
  `${(hits * usPerHit).toFixed(1).padStart(7)} µs/call  ${((hits / total) * 100).toFixed(1).padStart(5)}%  ${label}\n`;
process.stdout.write(
  `${which}: ${round.callsPerSec.toFixed(0)} calls/s, ${round.cpuUsPerCall.toFixed(1)} µs CPU/call (${CPU_MEASURE})\n\nby owner (wall time of the samples, idle included):\n`,
);
for (const [owner, hits] of [...byOwner].sort((a, b) => b[1] - a[1]).slice(0, 20)) process.stdout.write(line(hits, owner));
// Inclusive time of the library's functions and of the packages it calls into, entered from outside them.
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const subtree = (n: ProfileNode): number => n.hitCount + (n.children ?? []).reduce((s, id) => s + subtree(byId.get(id)!), 0);
const parentOf = new Map<number, ProfileNode>();
for (const n of profile.nodes) for (const id of n.children ?? []) parentOf.set(id, n);
const inclusive = new Map<string, number>();
for (const n of profile.nodes) {
  const owner = ownerOf(n);
  if (!['@datapunk/mesh-client', 'prom-client', '@opentelemetry/api', 'nestjs-cls', 'rxjs'].includes(owner)) continue;
  const parent = parentOf.get(n.id);
  if (parent && ownerOf(parent) === owner) continue; // counted at the entry
  const key = frameLabel(n);
  inclusive.set(key, (inclusive.get(key) ?? 0) + subtree(n));
}
process.stdout.write('\ninclusive time of entries into the library and the packages it uses:\n');
for (const [frame, hits] of [...inclusive].sort((a, b) => b[1] - a[1]).slice(0, 30)) process.stdout.write(line(hits, frame));
process.stdout.write("\nthe library's own frames (self time):\n");
const own = [...byFrame].filter(([frame]) => frame.includes('libs/mesh-client/'));
for (const [frame, hits] of own.sort((a, b) => b[1] - a[1]).slice(0, 25)) process.stdout.write(line(hits, frame));
process.stdout.write('\ntop frames:\n');
for (const [frame, hits] of [...byFrame].sort((a, b) => b[1] - a[1]).slice(0, 40)) process.stdout.write(line(hits, frame));
await work.close();
server.stop();
