import { readFileSync } from 'node:fs';
import { register } from 'prom-client';
import { lastValueFrom } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MeshClientRegistry } from '@datapunk/mesh-client';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { createTestApp, echoClient } from '../support/test-app.js';

const asset = (name: string): string => readFileSync(new URL(`../../observability/${name}`, import.meta.url), 'utf8');

/** Series names a PromQL expression reads (this library's prefixes only). */
const seriesIn = (expr: string): string[] =>
  [...expr.matchAll(/\b((?:grpc_client|mesh_client)_[a-z_]+)\b(?=\s*[{[)]|\s*$|\s)/g)].map((m) => m[1]!).filter((n) => n !== 'mesh_client');

describe('the Grafana dashboard and the alert rules', () => {
  let server: EchoServer;
  let exported: Set<string>;

  beforeAll(async () => {
    register.clear();
    server = await startEchoServer();
    const app = await createTestApp({ clients: [echoClient(server.target, { concurrency: { limit: 4 } })] });
    await lastValueFrom(app.get(MeshClientRegistry).get('echo').unary('Unary', {}));
    // the names as the application's registry has them, histogram series included
    exported = new Set(
      (await register.getMetricsAsJSON()).flatMap((m) =>
        String(m.type) === 'histogram' ? [`${m.name}_bucket`, `${m.name}_sum`, `${m.name}_count`] : [m.name],
      ),
    );
    await app.close();
  });
  afterAll(async () => {
    await server.stop();
    register.clear();
  });

  it('query only series the library exports', () => {
    const dashboard = JSON.parse(asset('mesh-client.dashboard.json')) as {
      panels: { targets: { expr: string }[] }[];
      templating: { list: { definition?: string }[] };
    };
    const dashboardExprs = [
      ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr)),
      ...dashboard.templating.list.flatMap((v) => (v.definition ? [v.definition] : [])),
    ];
    const ruleExprs = [...asset('mesh-client.rules.yml').matchAll(/expr:\s*\|?\s*\n?([\s\S]*?)(?=\n\s+for:)/g)].map((m) => m[1]!);
    expect(dashboardExprs.length).toBeGreaterThan(10);
    expect(ruleExprs).toHaveLength(4);
    const used = new Set([...dashboardExprs, ...ruleExprs].flatMap(seriesIn));
    expect([...used].filter((name) => !exported.has(name))).toEqual([]);
    // and the dashboard covers what the issue asked for: codes, latency, retries, hedges, breaker, in flight, limited calls
    for (const name of [
      'grpc_client_handled_total',
      'grpc_client_handling_seconds_bucket',
      'mesh_client_retries_total',
      'mesh_client_hedges_total',
      'mesh_client_circuit_state',
      'mesh_client_inflight',
      'mesh_client_limited_total',
    ]) {
      expect(used.has(name)).toBe(true);
    }
  });
});
