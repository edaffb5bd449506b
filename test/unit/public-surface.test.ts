import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');
const src = join(root, 'libs/mesh-client/src');

/** Every name an entry point exports, values and types, as the compiler sees them. */
function exportsOf(...entries: string[]): Map<string, string[]> {
  const files = entries.map((e) => join(src, e));
  const program = ts.createProgram(files, {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    noEmit: true,
    skipLibCheck: true,
    experimentalDecorators: true,
  });
  const checker = program.getTypeChecker();
  return new Map(
    files.map((file, i) => {
      const symbol = checker.getSymbolAtLocation(program.getSourceFile(file)!)!;
      return [
        entries[i]!,
        checker
          .getExportsOfModule(symbol)
          .map((s) => s.name)
          .sort(),
      ];
    }),
  );
}

/**
 * The names docs/reference/api.md documents (a `#### Name` heading each), per entry point. The page
 * is generated from the entries by scripts/docs.mjs; test/unit/reference-docs.test.ts holds it to
 * what the script writes, and this test to what the compiler sees exported.
 */
function documented(): Record<string, string[]> {
  const page = readFileSync(join(root, 'docs/reference/api.md'), 'utf8');
  const sections = page.split(/^## /m).slice(1);
  return Object.fromEntries(
    sections.map((section) => [section.slice(0, section.indexOf('\n')).trim(), [...section.matchAll(/^#### (\S+)$/gm)].map((m) => m[1]!).sort()]),
  );
}

describe('the public surface', () => {
  const exported = exportsOf('index.ts', 'advanced.ts', 'testing/index.ts');
  const docs = documented();

  it('the main entry exports exactly what the API reference documents', () => {
    expect(docs['@datapunk/mesh-client']!.length).toBeGreaterThan(50);
    expect(exported.get('index.ts')).toEqual(docs['@datapunk/mesh-client']);
  });

  it('the advanced entry exports exactly what the API reference documents under it', () => {
    expect(docs['@datapunk/mesh-client/advanced']!.length).toBeGreaterThan(30);
    expect(exported.get('advanced.ts')).toEqual(docs['@datapunk/mesh-client/advanced']);
  });

  it('the testing entry exports exactly what the API reference documents under it', () => {
    expect(docs['@datapunk/mesh-client/testing']!.length).toBeGreaterThan(10);
    expect(exported.get('testing/index.ts')).toEqual(docs['@datapunk/mesh-client/testing']);
  });

  it('the API reference documents the three entry points, nothing else', () => {
    expect(Object.keys(docs)).toEqual(['@datapunk/mesh-client', '@datapunk/mesh-client/advanced', '@datapunk/mesh-client/testing']);
  });

  it('every name of the contract is exported by the main entry', () => {
    const contract = [
      'MeshClientModule',
      'MeshClientOptions',
      'MeshConfigError',
      'MeshClientError',
      'MeshClient',
      'MeshClientRegistry',
      'InjectMeshClient',
      'CallOptions',
      'HealthStatus',
      'RetryPolicy',
      'BreakerPolicy',
      'MethodPolicy',
      'MeshPluginRef',
      'MeshClientPlugin',
      'MeshMethodInfo',
      'MeshCallHandler',
      'MeshCall',
      'MeshAttempt',
      'MeshAttemptEnd',
      'TokenPlugin',
      'LoggingPlugin',
      'FaultInjectionPlugin',
      'MeshSecurityContext',
      'MeshContext',
      'MeshCallOptions',
      'CurrentSecurityContext',
      'MeshHealthIndicator',
    ];
    expect(contract.filter((name) => !exported.get('index.ts')!.includes(name))).toEqual([]);
  });

  it('no name is in both entries', () => {
    const main = new Set(exported.get('index.ts'));
    expect(exported.get('advanced.ts')!.filter((n) => main.has(n))).toEqual([]);
  });
});
