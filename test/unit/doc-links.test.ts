import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const root = join(dirname(fileURLToPath(import.meta.url)), '../..');

/** Every markdown page of the documentation: the README, CONTRIBUTING, the benchmarks and docs/. */
function pages(): string[] {
  const found = ['README.md', 'CONTRIBUTING.md', 'BENCHMARKS.md', 'bench/METHOD.md'].map((p) => join(root, p));
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else if (name.endsWith('.md')) found.push(path);
    }
  };
  walk(join(root, 'docs'));
  return found;
}

/** The text outside fenced code blocks, line by line (a link or heading in a code block is none). */
const prose = (text: string): string[] => {
  let fenced = false;
  return text.split('\n').filter((line) => {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      return false;
    }
    return !fenced;
  });
};

/** GitHub's anchors of a page's headings (`## Security and the context` -> `security-and-the-context`, repeats get -1, -2 ...). */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const line of prose(readFileSync(file, 'utf8'))) {
    const heading = /^#{1,6} (.+?)\s*#*$/.exec(line)?.[1];
    if (!heading) continue;
    const text = heading.replace(/\[([^\]]*)\]\([^)]*\)/g, '$1').replace(/[`*]/g, '');
    const base = text
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '')
      .replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${String(n)}`);
  }
  return out;
}

/** The relative links of a page (inline `[text](target)` and reference definitions), outside code. */
function links(file: string): string[] {
  const out: string[] = [];
  for (const line of prose(readFileSync(file, 'utf8'))) {
    const text = line.replace(/`[^`]*`/g, '``');
    for (const m of text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)) out.push(m[1]!);
    const definition = /^\s*\[[^\]]+\]:\s+(\S+)/.exec(text)?.[1];
    if (definition) out.push(definition);
  }
  return out.filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

describe('links in the documentation', () => {
  const files = pages();

  it('finds the pages', () => {
    expect(files.length).toBeGreaterThan(15);
  });

  it.each(files.map((f) => [relative(root, f), f]))('%s: every relative link points at a file (and heading) that exists', (_name, file) => {
    const broken: string[] = [];
    for (const target of links(file)) {
      const [path, anchor] = target.split('#') as [string, string | undefined];
      const resolved = path === '' ? file : join(dirname(file), decodeURIComponent(path));
      if (!existsSync(resolved)) {
        broken.push(`${target}: no such file`);
        continue;
      }
      if (anchor !== undefined && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) broken.push(`${target}: no such heading`);
    }
    expect(broken).toEqual([]);
  });
});
