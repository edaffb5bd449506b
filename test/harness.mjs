// npm run chaos -- --calls N --seed S --compositions R --heap-calls H      npm run soak -- --minutes M
// Runs the chaos harness (test/support/chaos.ts) and the composition property test with R runs
// (test/property/call-core.property.test.ts), or the soak harness, under vitest; prints the verdict last.
import { spawn } from 'node:child_process';

const [mode, ...args] = process.argv.slice(2);
const arg = (name, fallback) => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? args[i + 1] : fallback;
};
const env = { ...process.env };
let files;
if (mode === 'chaos') {
  env.CHAOS_CALLS = arg('calls', '10000');
  env.CHAOS_SEED = arg('seed', String(Math.floor(Math.random() * 2 ** 31)));
  env.COMPOSITION_RUNS = arg('compositions', '300');
  env.COMPOSITION_SEED = env.CHAOS_SEED;
  env.COMPOSITION_HEAP_CALLS = arg('heap-calls', '100000');
  files = ['test/e2e/chaos.e2e.test.ts', 'test/property/call-core.property.test.ts'];
  process.stdout.write(`chaos: ${env.CHAOS_CALLS} calls and ${env.COMPOSITION_RUNS} compositions, seed ${env.CHAOS_SEED}\n`);
} else if (mode === 'soak') {
  env.SOAK_MINUTES = arg('minutes', '10');
  files = ['test/soak/soak.run.ts'];
} else {
  process.stderr.write('usage: node test/harness.mjs chaos|soak [--calls N] [--seed S] [--minutes M]\n');
  process.exit(2);
}
const child = spawn('npx', ['vitest', 'run', '--config', 'vitest.harness.config.ts', ...files], { env, stdio: ['ignore', 'pipe', 'inherit'] });
let verdict = '';
child.stdout.on('data', (chunk) => {
  const text = chunk.toString();
  process.stdout.write(text);
  for (const line of text.split('\n')) if (/^(chaos|soak): /.test(line.trim())) verdict = line.trim();
});
child.on('close', (code) => {
  if (verdict) process.stdout.write(`${verdict}\n`);
  process.exitCode = code ?? 1;
});
