import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(new URL('../../libs/mesh-client/package.json', import.meta.url), 'utf8')) as {
  peerDependencies: Record<string, string>;
  peerDependenciesMeta?: Record<string, { optional?: boolean }>;
};
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const section = /^## Install\n([\s\S]*?)^## /m.exec(readme)?.[1] ?? '';

describe("the README's Install section", () => {
  it("installs the library with every required peer at the library's own range", () => {
    const line = /^npm i @datapunk\/mesh-client (.+)$/m.exec(section)?.[1] ?? '';
    const given = [...line.matchAll(/'([^']+)'|(\S+)/g)].map((m) => m[1] ?? m[2]!);
    const required = Object.entries(pkg.peerDependencies).filter(([name]) => !pkg.peerDependenciesMeta?.[name]?.optional);
    expect(given.sort()).toEqual(required.map(([name, range]) => `${name}@${range}`).sort());
  });

  it('lists every peer (optional ones too) with its range', () => {
    for (const [name, range] of Object.entries(pkg.peerDependencies)) {
      const row = section.split('\n').find((l) => l.startsWith('|') && l.includes(`\`${name}\``));
      expect(row, name).toBeDefined();
      expect(row!.replaceAll('\\|', '|'), name).toContain(`\`${range}\``);
    }
  });

  it('accepts nestjs-cls 6 and 7', () => {
    expect(pkg.peerDependencies['nestjs-cls']).toBe('^6.0.0 || ^7.0.0');
  });
});
