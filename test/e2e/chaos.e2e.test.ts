import { expect, it } from 'vitest';
import { runChaos } from '../support/chaos.js';

const calls = Number(process.env.CHAOS_CALLS ?? 1000);
const seed = Number(process.env.CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));

it(`chaos: ${String(calls)} calls under faults all settle in time with right answers (seed ${String(seed)})`, async () => {
  const result = await runChaos(calls, seed);
  console.info([...result.violations, `outcomes: ${JSON.stringify(result.outcomes)}`, result.summary].join('\n'));
  expect(result.violations).toEqual([]);
  expect(result.settled).toBe(calls);
}, 600_000);
