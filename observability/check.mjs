// Checks the observability assets with promtool (Debian's `prometheus` package): the alert rules
// parse and pass their unit tests, and every PromQL expression of the dashboard parses.
// `npm run observability` (CI runs it).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const promtool = (...args) => execFileSync('promtool', args, { cwd: here, stdio: 'inherit' });

promtool('check', 'rules', 'mesh-client.rules.yml');
promtool('test', 'rules', 'mesh-client.rules.test.yml');

// Grafana's variables become what they stand for, then each expression is a recording rule.
const dashboard = JSON.parse(readFileSync(join(here, 'mesh-client.dashboard.json'), 'utf8'));
const exprs = dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr));
const concrete = (e) => e.replaceAll('$__rate_interval', '5m').replaceAll('$client', '.*').replaceAll('$method', '.*');
const rules = [
  'groups:',
  '  - name: dashboard',
  '    rules:',
  ...exprs.flatMap((e, i) => [`      - record: dashboard:expr_${i}`, `        expr: ${JSON.stringify(concrete(e))}`]),
].join('\n');
const file = join(mkdtempSync(join(tmpdir(), 'mesh-dashboard-')), 'dashboard.rules.yml');
writeFileSync(file, `${rules}\n`);
promtool('check', 'rules', file);
console.log(`observability: ${exprs.length} dashboard expressions and the alert rules parse; rule tests pass`);
