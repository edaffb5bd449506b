import js from '@eslint/js';
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['**/dist/**', '**/node_modules/**', 'bench/results/**', 'bench/scratch/**', 'test/types/.messages/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      // Nest reads constructor parameter types at run time: imports used in decorated signatures stay value imports.
      parserOptions: { emitDecoratorMetadata: true, experimentalDecorators: true },
      globals: {
        process: 'readonly',
        Buffer: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setImmediate: 'readonly',
        URL: 'readonly',
        AbortController: 'readonly',
        AbortSignal: 'readonly',
        performance: 'readonly',
      },
    },
    rules: {
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
    },
  },
  { files: ['apps/**', 'bench/**', 'test/**', '.ci/**', 'observability/**'], rules: { 'no-console': 'off' } },
  ...layers(),
  {
    // one path per name: only the entry points re-export (so a type is imported from where it is declared)
    files: ['libs/mesh-client/src/**/*.ts'],
    ignores: ['libs/mesh-client/src/index.ts', 'libs/mesh-client/src/advanced.ts', 'libs/mesh-client/src/testing/index.ts'],
    rules: {
      'no-restricted-syntax': [
        'error',
        { selector: 'ExportNamedDeclaration[source]', message: 're-exports: only the entry points re-export; import from the declaring file' },
        { selector: 'ExportAllDeclaration', message: 're-exports: only the entry points re-export; import from the declaring file' },
      ],
    },
  },
);

/**
 * The library's folders are layers: module -> client -> options -> proto / resilience / security /
 * observability / xds -> config, errors. health/ (the Terminus indicator) uses clients; the
 * shipped plugins/ see only the public plugin API (config/) and errors/. testing/ (the `/testing` entry: fakes for users'
 * tests) sits above module/ and may use any folder; no folder and no other entry may import it.
 * A folder may import the folders listed for it (and itself); anything else fails lint, naming the rule.
 */
function layers() {
  const src = 'libs/mesh-client/src';
  const folders = [
    'config',
    'errors',
    'proto',
    'resilience',
    'security',
    'observability',
    'xds',
    'options',
    'client',
    'health',
    'plugins',
    'module',
    'testing',
  ];
  const below = ['config', 'errors', 'proto', 'resilience', 'security', 'observability', 'xds'];
  const allowed = {
    config: [],
    errors: [],
    proto: ['config', 'errors'],
    resilience: ['config', 'errors'],
    security: ['config', 'errors'],
    xds: ['config', 'errors'],
    observability: ['config', 'errors', 'resilience'],
    options: below,
    client: [...below, 'options'],
    health: ['config', 'errors', 'client', 'xds'],
    plugins: ['config', 'errors'],
    module: [...below, 'options', 'client', 'health', 'plugins'],
    testing: [...below, 'options', 'client', 'health', 'plugins', 'module'],
  };
  const entries = {
    files: [`${src}/*.ts`],
    rules: {
      'no-restricted-imports': [
        'error',
        { patterns: [{ regex: '^\\./testing/', message: 'layers: the main and advanced entries never load testing/ (it has its own entry point)' }] },
      ],
    },
  };
  return [
    entries,
    ...folders.map((folder) => {
      const forbidden = folders.filter((f) => f !== folder && !allowed[folder].includes(f));
      return {
        files: [`${src}/${folder}/**/*.ts`],
        rules: {
          'no-restricted-imports': [
            'error',
            {
              patterns: [
                {
                  regex: `^(\\.\\./)+(${forbidden.join('|')})/`,
                  message: `layers: ${folder}/ may import ${allowed[folder].join(', ') || 'no other folder'} (see eslint.config.js)`,
                },
                { regex: '^(\\.\\./)+(index|advanced)\\.js$', message: 'layers: the entry points are for users, not for the library' },
              ],
            },
          ],
        },
      };
    }),
  ];
}
