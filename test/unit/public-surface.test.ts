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

/** The names the README's API section lists: backticked identifiers on its bullet lines, per part. */
function documented(): { main: string[]; advanced: string[] } {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const section = readme.slice(readme.indexOf('\n## API\n'), readme.indexOf('\n## ', readme.indexOf('\n## API\n') + 1));
  const [main, advanced] = section.split('\n### Composition');
  const names = (text = ''): string[] =>
    text
      .split('\n')
      .filter((line) => line.startsWith('- **'))
      .flatMap((line) => [...line.matchAll(/`([A-Za-z_$][\w$]*)`/g)].map((m) => m[1]!))
      .sort();
  return { main: names(main), advanced: names(advanced) };
}

describe('the public surface', () => {
  const exported = exportsOf('index.ts', 'advanced.ts');
  const docs = documented();

  it('the main entry exports exactly what the README documents', () => {
    expect(docs.main.length).toBeGreaterThan(50);
    expect(exported.get('index.ts')).toEqual(docs.main);
  });

  it('the advanced entry exports exactly what the README documents under Composition', () => {
    expect(docs.advanced.length).toBeGreaterThan(30);
    expect(exported.get('advanced.ts')).toEqual(docs.advanced);
  });

  it("every name of the design's API.md is exported by the main entry", () => {
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
