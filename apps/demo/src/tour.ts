import type { INestApplication, INestMicroservice } from '@nestjs/common';
import { MeshClientRegistry, isMeshClientError, type MeshClient } from '@datapunk/mesh-client';
import { lastValueFrom } from 'rxjs';
import { DemoFaults } from './backend/demo-faults.js';
import { INVENTORY_ID } from './dev-pki.js';
import { AttemptJournal } from './gateway/attempt-journal.plugin.js';
import { InventoryGateway } from './gateway/inventory.gateway.js';

/** Prints one line of the tour: a topic and what happened. */
export type Print = (topic: string, line: string) => void;

const outcome = (error: unknown): string =>
  isMeshClientError(error) ? `${error.category} (${error.codeName}, attempts ${String(error.attempts)})` : String(error);

async function expectFailure(call: Promise<unknown>): Promise<unknown> {
  return call.then(
    () => new Error('the call succeeded'),
    (error: unknown) => error,
  );
}

/**
 * What the mesh does, shown on the running demo: the backend's workload identity checked over
 * mutual TLS, a retry after an injected failure, a deadline carried from HTTP to gRPC, the breaker
 * opening on an outage and closing after it, health, and the metrics of those calls.
 */
export async function tour(gateway: INestApplication, backend: INestMicroservice, print: Print): Promise<void> {
  const base = await gateway.getUrl();
  const registry = gateway.get(MeshClientRegistry);
  const faults = backend.get(DemoFaults);
  const journal = gateway.get(AttemptJournal);
  const inventory: MeshClient = registry.get('inventory');
  const calls = gateway.get(InventoryGateway);

  // 1. one call of each kind
  print('unary', JSON.stringify(await calls.getItem('apple')));
  print('server-stream', JSON.stringify(await calls.watchStock('apple', 3)));
  print(
    'client-stream',
    JSON.stringify(
      await calls.importItems([
        { id: 'plum', name: 'Plum', stock: 7 },
        { id: 'kiwi', name: 'Kiwi', stock: 2 },
      ]),
    ),
  );
  print(
    'bidi',
    JSON.stringify(
      await calls.reserve([
        { id: 'plum', quantity: 5 },
        { id: 'plum', quantity: 5 },
      ]),
    ),
  );

  // 2. mutual TLS with workload identities
  print(
    'mTLS',
    `the backend proved it is ${INVENTORY_ID} (checked against tls.expectedServerIds); it saw the gateway as ${faults.lastPeer ?? 'nobody'}`,
  );
  const impostor = await expectFailure(lastValueFrom(registry.get('impostor-check').unary('GetItem', { id: 'apple' })));
  print(
    'mTLS',
    `a client expecting spiffe://datapunk.local/ns/demo/sa/payments refused it: ${outcome(impostor)}: ${isMeshClientError(impostor) ? impostor.message.replace(/^.*TLS: /, '') : ''}`,
  );

  // 3. retry after an injected UNAVAILABLE
  journal.entries.length = 0;
  await lastValueFrom(inventory.unary('GetItem', { id: 'pear' }, { metadata: { 'x-demo-fail-once': 'tour' } }));
  const attempts = journal.entries.filter((e) => e.method === 'GetItem');
  print(
    'retry',
    `GetItem: ${attempts.map((e) => `attempt ${String(e.attempt)} ${e.code}${e.code === 'OK' ? '' : ` (${e.details})`}`).join(' -> backoff -> ')} (attempts ${String(attempts.length)})`,
  );

  // 4. a deadline from HTTP to gRPC
  const started = performance.now();
  const response = await fetch(`${base}/items/slow`, { headers: { 'grpc-timeout': '300m' } });
  const body = (await response.json()) as { category?: string };
  print(
    'deadline',
    `GET /items/slow with grpc-timeout 300m: the backend's call arrived with ${String(Math.round(faults.lastDeadlineMs ?? -1))} ms left; ` +
      `the gateway answered ${String(response.status)} '${body.category ?? '?'}' after ${String(Math.round(performance.now() - started))} ms (its own timeout is 5 s, the item takes 1 s)`,
  );

  // 5. the breaker on an outage
  const breaker = registry.get('inventory-breaker');
  faults.outage = true;
  for (let i = 1; i <= 3; i++)
    print(
      'breaker',
      `outage, call ${String(i)}: ${outcome(await expectFailure(lastValueFrom(breaker.unary('GetItem', { id: 'apple' }))))}; breaker ${breaker.breakerState()}`,
    );
  const t0 = performance.now();
  const rejected = await expectFailure(lastValueFrom(breaker.unary('GetItem', { id: 'apple' })));
  print('breaker', `call 4: ${outcome(rejected)} in ${((performance.now() - t0) * 1000).toFixed(0)} us, nothing sent`);
  faults.outage = false;
  await new Promise((r) => setTimeout(r, 1100));
  print(
    'breaker',
    `backend back; after openMs (1 s) the breaker is ${breaker.breakerState()}: a probe ${JSON.stringify(await lastValueFrom(breaker.unary('GetItem', { id: 'apple' })))} closes it: ${breaker.breakerState()}`,
  );

  // 6. health
  const health = (await (await fetch(`${base}/health`)).json()) as { status: string; info?: Record<string, { servingStatus?: string }> };
  print(
    'health',
    `gRPC health ${await inventory.checkHealth('demo.inventory.Inventory')}; GET /health: ${health.status} (${health.info?.inventory?.servingStatus ?? '?'})`,
  );

  // 7. the metrics of those calls
  const metrics = await (await fetch(`${base}/metrics`)).text();
  const lines = metrics
    .split('\n')
    .filter(
      (l) =>
        /^(grpc_client_handled_total|mesh_client_retries_total|mesh_client_circuit_rejected_total)\{.*grpc_method="GetItem"/.test(l) ||
        /^mesh_client_circuit_state\{/.test(l),
    );
  for (const line of lines) print('metrics', line);
}
