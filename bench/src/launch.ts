import { execFileSync, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { pinning } from './pinning.js';

/**
 * `npm run bench [-- --node 24] [-- <run.js options>]`: runs bench/dist/run.js on the machine's Node
 * or on a Node line fetched from the npm registry, pinned to core 0 (the server gets core 1).
 * `npm run bench -- profile.js all 10 128` runs another bench script the same way.
 */
const args = process.argv.slice(2);
const at = args.indexOf('--node');
const line = at >= 0 ? args.splice(at, 2)[1] : undefined;
if (at >= 0 && !/^\d+$/.test(line ?? '')) {
  process.stderr.write(`--node takes a major version (e.g. --node 24), got ${String(line)}\n`);
  process.exit(2);
}
const node = line
  ? execFileSync('npx', ['-y', '-p', `node@${line}`, 'node', '-p', 'process.execPath'], { encoding: 'utf8' })
      .trim()
      .split('\n')
      .at(-1)!
  : process.execPath;
const script = fileURLToPath(new URL(`./${args[0]?.endsWith('.js') ? args.shift()! : 'run.js'}`, import.meta.url));
const pin = pinning();
const command = pin ? ['taskset', '-c', String(pin.client), node] : [node];
process.stderr.write(`bench: ${command.join(' ')} ${script} ${args.join(' ')}${pin ? '' : ' (not pinned: one core or no taskset)'}\n`);
// Extra Node flags for the measured process only, e.g. BENCH_NODE_FLAGS='--cpu-prof --cpu-prof-dir=bench/results'.
const flags = (process.env.BENCH_NODE_FLAGS ?? '').split(' ').filter(Boolean);
const result = spawnSync(command[0]!, [...command.slice(1), '--expose-gc', ...flags, script, ...args], { stdio: 'inherit' });
process.exit(result.status ?? 1);
