import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { BREAKER_DEFAULTS, CLIENT_DEFAULTS, OUTLIER_DEFAULTS, RETRY_DEFAULTS } from '@datapunk/mesh-client/advanced';
import { TLS_DEFAULTS } from '../../libs/mesh-client/src/config/defaults.js';

const file = fileURLToPath(new URL('../../libs/mesh-client/src/config/mesh-client-options.interface.ts', import.meta.url));
const declared: Record<string, Readonly<Record<string, unknown>>> = {
  MeshClientOptions: CLIENT_DEFAULTS,
  RetryPolicy: RETRY_DEFAULTS,
  BreakerPolicy: BREAKER_DEFAULTS,
  OutlierDetectionOptions: OUTLIER_DEFAULTS,
  'OutlierDetectionOptions.failurePercentage': OUTLIER_DEFAULTS.failurePercentage,
  MeshTlsOptions: TLS_DEFAULTS,
};

/** Each `Default <literal>.` a property's JSDoc states, keyed by interface (and nested property). */
function documentedDefaults(): { owner: string; key: string; text: string }[] {
  const source = ts.createSourceFile(file, ts.sys.readFile(join(file))!, ts.ScriptTarget.ES2022, true);
  const found: { owner: string; key: string; text: string }[] = [];
  const visitMembers = (owner: string, members: ts.NodeArray<ts.TypeElement>): void => {
    for (const m of members) {
      if (!ts.isPropertySignature(m) || !m.name) continue;
      const key = m.name.getText(source);
      const doc = ts
        .getJSDocCommentsAndTags(m)
        .map((d) => (typeof d.comment === 'string' ? d.comment : ''))
        .join(' ');
      const literal = /\bDefault:? (-?\d[\d_]*(?:\.\d+)?|'[^']*'|true|false)[.)\s]/.exec(`${doc} `)?.[1];
      if (literal) found.push({ owner, key, text: literal });
      if (m.type && ts.isTypeLiteralNode(m.type)) visitMembers(`${owner}.${key}`, m.type.members);
    }
  };
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) visitMembers(node.name.text, node.members);
  });
  return found;
}

describe('option defaults are declared once (config/defaults.ts); the JSDoc states the same values', () => {
  const documented = documentedDefaults().filter((d) => d.owner in declared);

  it('finds the documented defaults', () => {
    expect(documented.length).toBeGreaterThan(25);
  });

  it.each(documented.map((d) => [`${d.owner}.${d.key}`, d] as const))('%s', (_name, d) => {
    const value: unknown = d.text.startsWith("'") ? d.text.slice(1, -1) : JSON.parse(d.text.replaceAll('_', ''));
    expect(declared[d.owner]![d.key]).toEqual(value);
  });
});
