import { defineConfig, mergeConfig } from 'vitest/config';
import base from './vitest.config.js';

/** The long runs (chaos CLI, soak): not part of `npm test`. */
export default mergeConfig(
  base,
  defineConfig({
    test: {
      include: ['test/soak/*.run.ts', 'test/e2e/chaos.e2e.test.ts', 'test/property/call-core.property.test.ts'],
      testTimeout: 0,
      execArgv: ['--expose-gc'],
    },
  }),
);
