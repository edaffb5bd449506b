import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { ALL_OFF, meshContender, rawContender, type Contender } from './contenders.js';
import { median, timedRound } from './measure.js';

/**
 * What each feature costs: client CPU per call at c=128 of the mesh client with one feature on at a
 * time, against raw grpc-js in the same round. `node bench/dist/features.js [rounds] [ms]`
 */
async function main(): Promise<void> {
  const [rounds = '3', ms = '1500'] = process.argv.slice(2);
  const child = fork(fileURLToPath(new URL('./server.js', import.meta.url)), [], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  const port = await new Promise<string>((resolve) => child.stdout!.once('data', (d: Buffer) => resolve(d.toString().trim())));
  const target = `127.0.0.1:${port}`;
  const variants: Contender[] = [
    rawContender(target),
    await meshContender('off', target, ALL_OFF, false),
    await meshContender('+retry', target, { ...ALL_OFF, retry: undefined }, false),
    await meshContender('+breaker', target, { ...ALL_OFF, breaker: undefined }, false),
    await meshContender('+metrics', target, { ...ALL_OFF, metrics: true }, false),
    await meshContender('+tracing', target, { ...ALL_OFF, tracing: true }, false),
    await meshContender('+context', target, ALL_OFF, true),
    await meshContender('all', target, {}, true),
  ];
  const cpu = new Map<string, number[]>(variants.map((v) => [v.name, []]));
  for (const v of variants) await v.around(() => timedRound(() => v.unary(), 128, 300));
  for (let r = 0; r < Number(rounds); r++) {
    for (const v of r % 2 ? [...variants].reverse() : variants)
      cpu.get(v.name)!.push((await v.around(() => timedRound(() => v.unary(), 128, Number(ms)))).cpuUsPerCall);
  }
  const raw = cpu.get(variants[0]!.name)!;
  for (const [name, values] of cpu) {
    const delta = median(values.map((v, i) => v - raw[i]!));
    process.stdout.write(
      `${name.padEnd(12)} ${median(values).toFixed(1).padStart(7)} µs/call   ${delta >= 0 ? '+' : ''}${delta.toFixed(1)} µs vs raw\n`,
    );
  }
  for (const v of variants) await v.close();
  child.disconnect();
}

void main();
