#!/usr/bin/env node
// Checks that typed-client errors read well: compiles test/types/typed-client.types.ts without its
// `@ts-expect-error` directives, with the tsc given (`node test/types/check-messages.mjs <tsc...>`,
// default the repository's TypeScript), and requires each directive's line to fail with an error
// that quotes what the directive `names` ('x' or "x"), and no error to blame a parameter of type
// 'never'. Run by CI with TypeScript 6 (the repository's) and 7 (`npx -y -p typescript@7 tsc`).
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const source = join(here, 'typed-client.types.ts');
// a dot folder: outside the wildcard of test/tsconfig.json, so lint never sees the copy
const dir = join(here, '.messages');
const tsc = process.argv.length > 2 ? process.argv.slice(2) : [process.execPath, join(here, '../../node_modules/typescript/bin/tsc')];

const lines = readFileSync(source, 'utf8').split('\n');
/** Line numbers (1-based) that must fail, and what their error must name. */
const expected = new Map();
const copy = lines.map((line, i) => {
  const directive = /^(\s*)\/\/ @ts-expect-error(.*)$/.exec(line);
  if (!directive) return line.replaceAll("'../support/", "'../../support/");
  const names = /names '([^']+)'\s*$/.exec(directive[2]);
  expected.set(i + 2, names?.[1]);
  return `${directive[1]}// (expected to fail)${directive[2]}`;
});

mkdirSync(dir, { recursive: true });
let output;
try {
  writeFileSync(join(dir, 'typed-client.messages.ts'), copy.join('\n'));
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({ extends: '../../tsconfig.json', include: ['./*.ts'] }));
  const run = spawnSync(tsc[0], [...tsc.slice(1), '-p', join(dir, 'tsconfig.json'), '--pretty', 'false'], { encoding: 'utf8' });
  if (run.error) throw run.error;
  output = `${run.stdout}${run.stderr}`;
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/** The text of every error, by line of the copy. */
const errors = new Map();
let current;
for (const line of output.split('\n')) {
  const head = /typed-client\.messages\.ts\((\d+),\d+\): error (TS\d+: .*)$/.exec(line);
  if (head) {
    current = Number(head[1]);
    errors.set(current, `${errors.get(current) ?? ''}${head[2]}\n`);
  } else if (current !== undefined && /^\s/.test(line)) {
    errors.set(current, `${errors.get(current)}${line.trim()}\n`);
  } else if (line.trim() !== '') {
    current = undefined;
    if (!/^Version /.test(line)) errors.set(-1, `${errors.get(-1) ?? ''}${line}\n`);
  }
}

const problems = [];
for (const [line, names] of expected) {
  const text = errors.get(line);
  if (!text) problems.push(`line ${String(line)}: expected an error, got none`);
  else if (names && !text.includes(`'${names}'`) && !text.includes(`"${names}"`))
    problems.push(`line ${String(line)}: the error does not name '${names}':\n${text}`);
  if (text?.includes("type 'never'")) problems.push(`line ${String(line)}: the error blames a parameter of type 'never':\n${text}`);
}
for (const [line, text] of errors) if (!expected.has(line)) problems.push(`line ${String(line)}: unexpected error:\n${text}`);

if (process.env.VERBOSE) for (const [line, text] of [...errors].sort((a, b) => a[0] - b[0])) console.log(`line ${String(line)}: ${text}`);
const version = spawnSync(tsc[0], [...tsc.slice(1), '--version'], { encoding: 'utf8' }).stdout.trim();
if (problems.length > 0) {
  console.error(`typed-client errors (${version}): ${String(problems.length)} problem(s)\n${problems.join('\n')}`);
  process.exit(1);
}
console.log(`typed-client errors (${version}): ${String(expected.size)} expected errors, each on its line, naming what is wrong`);
