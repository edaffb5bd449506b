#!/usr/bin/env node
// CI: packs @datapunk/mesh-client as npm would publish it, checks the tarball (README, LICENSE,
// builds, every source map's sources shipped), then installs it into a fresh app in a temp
// folder with the README's own Install line (peers from the npm registry), imports the package,
// builds the module with one client and type-checks a consumer against the shipped declarations.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const work = mkdtempSync(join(tmpdir(), 'mesh-pack-'));
const run = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
const fail = (message) => {
  console.error(`pack: ${message} (work folder kept: ${work})`);
  process.exit(1);
};

// 1. the tarball, as `npm publish` would make it (prepack builds and copies the README in)
const [packed] = JSON.parse(run('npm', ['pack', '-w', 'libs/mesh-client', '--pack-destination', work, '--json', '--silent'], repo));
const tarball = join(work, packed.filename);
const unpacked = join(work, 'unpacked');
run('mkdir', ['-p', unpacked]);
run('tar', ['-xzf', tarball, '-C', unpacked, '--strip-components=1']);

// 2. what it holds
for (const file of ['README.md', 'LICENSE', 'package.json', 'dist/index.js', 'dist/index.d.ts', 'dist/advanced.js', 'dist/advanced.d.ts']) {
  if (!existsSync(join(unpacked, file))) fail(`the tarball has no ${file}`);
}
if (readFileSync(join(unpacked, 'README.md'), 'utf8') !== readFileSync(join(repo, 'README.md'), 'utf8'))
  fail("the tarball's README.md is not the repository's");
if (existsSync(join(repo, 'libs/mesh-client/README.md'))) fail('postpack left libs/mesh-client/README.md behind');
const files = [];
const walk = (dir) => {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path);
    else files.push(path);
  }
};
walk(unpacked);
if (files.some((f) => f.endsWith('.tsbuildinfo'))) fail('the tarball ships a .tsbuildinfo');
let sources = 0;
const maps = files.filter((f) => f.endsWith('.map'));
for (const map of maps) {
  const { sources: list = [], sourceRoot = '' } = JSON.parse(readFileSync(map, 'utf8'));
  for (const source of list) {
    const target = resolve(dirname(map), sourceRoot, source);
    if (!existsSync(target)) fail(`${relative(unpacked, map)} points at ${source}, which the tarball does not ship`);
    sources++;
  }
}
if (maps.length === 0) fail('no source maps: expected the build to ship them with their sources');

// 3. a fresh app, installed with the README's Install line (the package replaced by the tarball)
const readme = readFileSync(join(repo, 'README.md'), 'utf8');
const install = /^## Install\n[\s\S]*?```sh\n(npm i @datapunk\/mesh-client [^\n]+)\n/m.exec(readme)?.[1];
if (!install) fail("the README's Install section has no `npm i @datapunk/mesh-client ...` line");
const app = join(work, 'app');
run('mkdir', ['-p', app]);
writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'fresh-app', private: true, type: 'module' }));
run('bash', ['-c', `${install.replace('@datapunk/mesh-client', `'${tarball}'`)} --no-audit --no-fund --prefer-offline --loglevel=error`], app);
writeFileSync(
  join(app, 'app.proto'),
  'syntax = "proto3";\npackage app;\nmessage Ping { string text = 1; }\nservice Pings { rpc Send (Ping) returns (Ping); }\n',
);
writeFileSync(
  join(app, 'main.mjs'),
  `import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MeshClientModule, MeshClientRegistry } from '@datapunk/mesh-client';
import { CircuitBreaker } from '@datapunk/mesh-client/advanced';

const mesh = MeshClientModule.forRoot({ clients: [{ name: 'pings', target: '127.0.0.1:1', proto: { path: 'app.proto', package: 'app' }, insecure: true }] });
class AppModule {}
Module({ imports: [mesh] })(AppModule);
const app = await NestFactory.createApplicationContext(AppModule, { logger: false });
const client = app.get(MeshClientRegistry).get('pings');
if (client.serviceName !== 'app.Pings' || typeof CircuitBreaker !== 'function') throw new Error('unexpected module');
await app.close();
console.log('module built: client ' + client.name + ' of ' + client.serviceName);
`,
);
const started = run('node', ['main.mjs'], app).trim();
writeFileSync(
  join(app, 'consumer.ts'),
  `import type { Observable } from 'rxjs';
import { MeshClientModule, type MeshClient, type MeshClientError } from '@datapunk/mesh-client';

interface Ping { text: string }
interface PingsClient { send(request: Ping): Observable<Ping> }
export const mesh = MeshClientModule.fromClientsModule([{ name: 'PINGS', transport: 4, options: { url: 'pings:50051', package: 'app', protoPath: 'app.proto' }, tls: { ca: 'ca.pem' } }]);
export const reply = (client: MeshClient<PingsClient>): Observable<Ping> => client.unary('send', { text: 'hi' });
export const trailer = (error: MeshClientError): string[] => error.metadata.get('x').map(String);
`,
);
writeFileSync(
  join(app, 'tsconfig.json'),
  JSON.stringify({
    compilerOptions: { module: 'nodenext', target: 'es2023', strict: true, noEmit: true, skipLibCheck: false, types: [] },
    files: ['consumer.ts'],
  }),
);
try {
  run(process.execPath, [join(repo, 'node_modules/typescript/bin/tsc'), '-p', app], app);
} catch (error) {
  fail(`a consumer does not type-check against the shipped declarations:\n${String(error.stdout)}`);
}
rmSync(work, { recursive: true, force: true });
console.log(
  `pack: ${packed.filename}: ${String(files.length)} files, README.md and LICENSE, ${String(maps.length)} source maps whose ${String(sources)} sources ship; ` +
    `a fresh app installed it with the README's Install line, ${started}, and type-checks against its declarations`,
);
