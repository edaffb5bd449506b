import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const read = (path: string): string => readFileSync(join(root, path), 'utf8');

/** The guide's example as it runs in this repository, with the paths a user's project has. */
const EXAMPLE = [
  'test/support/guide/shop.module.ts',
  'test/support/guide/shop.service.ts',
  'test/support/guide/shop.controller.ts',
  'test/e2e/testing-kit-guide.e2e.test.ts',
].map((path) => read(path).replaceAll("'../support/guide/", "'./"));

describe('docs/guide/testing.md', () => {
  const guide = read('docs/guide/testing.md');
  const blocks = [...guide.matchAll(/```ts\n([\s\S]*?)\n```/g)].map((m) => m[1]!);

  it('quotes the code of the example that runs in the suite, verbatim', () => {
    const quoted = blocks.filter((block) => block.split('\n').length > 3);
    for (const block of quoted)
      expect(
        EXAMPLE.some((source) => source.includes(block)),
        `not in the example's files:\n${block}`,
      ).toBe(true);
    const withoutLeadingComment = (source: string): string => (source.startsWith('//') ? source.slice(source.indexOf('\n') + 1) : source);
    for (const source of EXAMPLE) expect(blocks).toContain(withoutLeadingComment(source).trimEnd());
  });

  it('shows the five situations the acceptance asks for', () => {
    for (const needle of [
      "failNext(2, 'UNAVAILABLE')",
      "hang('getPrice')",
      "breakerState()).toBe('open')",
      "'x-request-id': 'req-42'",
      'answers from both services',
    ]) {
      expect(guide).toContain(needle);
    }
  });
});

describe('the testing entry point', () => {
  it('is never loaded by the main or the advanced entry', () => {
    const src = join(root, 'libs/mesh-client/src');
    const loaded = new Set<string>();
    const visit = (file: string): void => {
      if (loaded.has(file)) return;
      loaded.add(file);
      for (const { fileName } of ts.preProcessFile(readFileSync(file, 'utf8')).importedFiles) {
        if (fileName.startsWith('.')) visit(join(dirname(file), fileName.replace(/\.js$/, '.ts')));
      }
    };
    visit(join(src, 'index.ts'));
    visit(join(src, 'advanced.ts'));
    expect([...loaded].some((f) => f.includes('/client/'))).toBe(true);
    expect([...loaded].filter((f) => f.includes('/testing/'))).toEqual([]);
  });
});

describe('the README', () => {
  const readme = read('README.md');
  const section = readme.slice(
    readme.indexOf('\n## Testing your service\n'),
    readme.indexOf('\n## ', readme.indexOf('\n## Testing your service\n') + 1),
  );

  it('has a "Testing your service" section linking to the guide, and keeps its two set-up commands', () => {
    expect(section).toContain('](docs/guide/testing.md)');
    expect(readme).toContain('npm ci && npm run demo');
    expect(readme).toContain('npm ci && npm test');
  });

  it('links the API reference, which lists what @datapunk/mesh-client/testing exports (test/unit/public-surface.test.ts)', () => {
    expect(readme).toContain('](docs/reference/api.md');
    const page = read('docs/reference/api.md');
    const testing = page.slice(page.indexOf('\n## @datapunk/mesh-client/testing\n'));
    for (const name of ['MeshFake', 'MeshTestingModule', 'fakeStatus', 'FakeCall', 'FakeHandlers']) expect(testing).toContain(`\n#### ${name}\n`);
  });
});
