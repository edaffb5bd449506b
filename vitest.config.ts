import { fileURLToPath } from 'node:url';
import swc from 'unplugin-swc';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  plugins: [
    // Nest resolves constructor parameters from decorator metadata, which only SWC (not esbuild/oxc) emits.
    swc.vite({
      jsc: {
        parser: { syntax: 'typescript', decorators: true },
        transform: { legacyDecorator: true, decoratorMetadata: true, useDefineForClassFields: false },
        target: 'es2022',
      },
    }),
  ],
  resolve: {
    alias: [
      { find: /^@datapunk\/mesh-client$/, replacement: fileURLToPath(new URL('./libs/mesh-client/src/index.ts', import.meta.url)) },
      { find: /^@datapunk\/mesh-client\/advanced$/, replacement: fileURLToPath(new URL('./libs/mesh-client/src/advanced.ts', import.meta.url)) },
      { find: /^@datapunk\/mesh-client\/testing$/, replacement: fileURLToPath(new URL('./libs/mesh-client/src/testing/index.ts', import.meta.url)) },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 20_000,
    hookTimeout: 20_000,
    pool: 'forks',
    // memory assertions (iterate()'s flow control) compare heaps after a forced GC
    execArgv: ['--expose-gc'],
  },
});
