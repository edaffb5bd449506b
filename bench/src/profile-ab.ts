import { Session } from 'node:inspector/promises';
import { CPU_MEASURE, median } from './measure.js';
import { frameLabel, ownerOf, type Profile } from './frames.js';
import { startServer } from './server-process.js';
import { workloadNamed, type Workload } from './variants.js';

/** One contender's share of the profile: its calls, and its samples by frame and by owner. */
interface Side {
  readonly name: string;
  readonly work: Workload;
  /** [start, end) of its slices, in the profile's clock (µs). */
  readonly windows: [number, number][];
  readonly cpu: number[];
  readonly rate: number[];
  calls: number;
  hits: number;
  readonly byFrame: Map<string, number>;
  readonly byOwner: Map<string, number>;
}

/**
 * Profiles two contenders in ONE process under ONE profile, in alternating slices (A B B A, A B B
 * A, ...): each sample counts for the contender whose slice it fell in. The host's pace, which
 * drifts by 2x and more within minutes on these VMs, then weighs on both alike, so frame by frame
 * the difference B - A is what B does more, not the host's moment. Separate profile.js runs cannot
 * be compared that way. The second contender reads about 3-5% dearer than it is (the A/A, `all all`,
 * read 1.03x and 1.04x at 16 and 24 pairs; `all all+then` 1.13x one way and 0.96x the other): run
 * a comparison both ways and take the geometric mean of B/A and 1/(A/B).
 *   npm run bench -- --node 26 profile-ab.js all plugin [slices] [slice ms] [concurrency]
 * Prints CPU per call of each (median of its slices) and the median of the per-pair ratios B/A,
 * then µs per call by owner and the frames that differ most.
 */
const [a = 'all', b = 'plugin', slices = '24', sliceMs = '500', concurrency = '128'] = process.argv.slice(2);
const server = await startServer();
const side = async (name: string): Promise<Side> => ({
  name,
  work: await workloadNamed(name, server.target, Number(concurrency)),
  windows: [],
  cpu: [],
  rate: [],
  calls: 0,
  hits: 0,
  byFrame: new Map(),
  byOwner: new Map(),
});
const sides = [await side(a), await side(b)] as const;
for (const s of sides) await s.work.round(2000);

const session = new Session();
session.connect();
await session.post('Profiler.enable');
await session.post('Profiler.setSamplingInterval', { interval: 100 });
const clockAtStart = Number(process.hrtime.bigint() / 1000n);
await session.post('Profiler.start');
for (let i = 0; i < Number(slices); i++) {
  for (const s of i % 2 === 0 ? sides : [...sides].reverse()) {
    const from = Number(process.hrtime.bigint() / 1000n);
    const round = await s.work.round(Number(sliceMs));
    s.windows.push([from, Number(process.hrtime.bigint() / 1000n)]);
    s.cpu.push(round.cpuUsPerCall);
    s.rate.push(round.callsPerSec);
    s.calls += round.calls;
  }
}
const { profile } = (await session.post('Profiler.stop')) as unknown as { profile: Profile };
session.disconnect();

// hrtime and the profiler's clock are both monotonic; align them at the profiler's start.
const offset = profile.startTime - clockAtStart;
const byId = new Map(profile.nodes.map((n) => [n.id, n]));
const usPerSample = (profile.endTime - profile.startTime) / profile.samples.length;
let t = profile.startTime;
for (let i = 0; i < profile.samples.length; i++) {
  t += profile.timeDeltas[i]!;
  const owner = sides.find((s) => s.windows.some(([from, to]) => t >= from + offset && t < to + offset));
  if (!owner) continue;
  const node = byId.get(profile.samples[i]!)!;
  owner.hits++;
  const frame = frameLabel(node);
  owner.byFrame.set(frame, (owner.byFrame.get(frame) ?? 0) + 1);
  const who = ownerOf(node);
  owner.byOwner.set(who, (owner.byOwner.get(who) ?? 0) + 1);
}

const [sa, sb] = sides;
const perCall = (s: Side, hits: number | undefined): number => ((hits ?? 0) * usPerSample) / s.calls;
const ratios = sa.cpu.map((cpu, i) => sb.cpu[i]! / cpu);
const out: string[] = [
  `${String(slices)} slice pairs of ${sliceMs} ms, concurrency ${concurrency}, CPU = ${CPU_MEASURE}`,
  ...sides.map(
    (s) =>
      `${s.name}: ${median(s.rate).toFixed(0)} calls/s, ${median(s.cpu).toFixed(1)} µs CPU/call (slices ${Math.min(...s.cpu).toFixed(1)}..${Math.max(...s.cpu).toFixed(1)})`,
  ),
  `${b} / ${a} CPU per call: median ${median(ratios).toFixed(3)}x (pairs ${Math.min(...ratios).toFixed(3)}..${Math.max(...ratios).toFixed(3)})`,
  '',
];
const table = (title: string, ka: Map<string, number>, kb: Map<string, number>, rows: number): void => {
  const keys = [...new Set([...ka.keys(), ...kb.keys()])];
  const diff = (k: string): number => perCall(sb, kb.get(k)) - perCall(sa, ka.get(k));
  out.push(`${title} (µs per call: ${a}, ${b}, difference)`);
  for (const k of keys.sort((x, y) => Math.abs(diff(y)) - Math.abs(diff(x))).slice(0, rows)) {
    const cells = [perCall(sa, ka.get(k)), perCall(sb, kb.get(k)), diff(k)].map((v) => v.toFixed(2).padStart(7));
    out.push(`${cells.join(' ')}  ${k}`);
  }
  out.push('');
};
table('by owner', sa.byOwner, sb.byOwner, 24);
table('frames that differ most', sa.byFrame, sb.byFrame, 40);
process.stdout.write(`${out.join('\n')}\n`);
for (const s of sides) await s.work.close();
server.stop();
