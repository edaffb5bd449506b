import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ServerCredentials, type Server } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { MeshClientRegistry, MeshContext } from '@datapunk/mesh-client';
import { INVENTORY_ID, ensureDevPki } from './dev-pki.js';
import { BackendModule } from './backend/backend.module.js';
import { GatewayModule, DemoConfig } from './gateway/gateway.module.js';
import { InventoryGateway } from './gateway/inventory.gateway.js';
import { INVENTORY_PACKAGE, INVENTORY_PROTO } from './inventory.types.js';

const log = new Logger('demo');

/** A free loopback port, for the embedded backend. */
async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

/** Git-ignored folder of the demo's development certificates. */
const CERT_DIR = fileURLToPath(new URL('../.certs', import.meta.url));

/** Calls the backend once per call kind and prints each result. */
async function runOnce(gateway: InventoryGateway): Promise<void> {
  const show = (kind: string, value: unknown): void => console.log(`${kind.padEnd(14)} ${JSON.stringify(value)}`);
  show('unary', await gateway.getItem('apple'));
  show('server-stream', await gateway.watchStock('apple', 3));
  show('client-stream', await gateway.importItems([{ id: 'plum', name: 'Plum', stock: 7 }, { id: 'kiwi', name: 'Kiwi', stock: 2 }]));
  show('bidi', await gateway.reserve([{ id: 'plum', quantity: 5 }, { id: 'plum', quantity: 5 }]));
}

async function main(): Promise<void> {
  const once = process.argv.includes('--once');
  const health = new HealthImplementation({ '': 'SERVING', [`${INVENTORY_PACKAGE}.Inventory`]: 'SERVING' });
  const { paths: pki, created } = await ensureDevPki(CERT_DIR);
  if (created) log.log(`generated a development CA and SPIFFE certificates in ${CERT_DIR}`);
  const backendTarget = `127.0.0.1:${String(await freePort())}`;
  const credentials = ServerCredentials.createSsl(
    readFileSync(pki.ca),
    [{ cert_chain: readFileSync(pki.inventory.cert), private_key: readFileSync(pki.inventory.key) }],
    true, // mutual TLS: the gateway must present a certificate from the dev CA
  );
  const backend = await NestFactory.createMicroservice<MicroserviceOptions>(BackendModule, {
    transport: Transport.GRPC,
    options: {
      url: backendTarget,
      package: INVENTORY_PACKAGE,
      protoPath: INVENTORY_PROTO,
      credentials,
      // the standard gRPC health service, for the gateway's GET /health
      onLoadPackageDefinition: (_pkg: unknown, server: Pick<Server, 'addService'>) => health.addToServer(server),
    },
    logger: once ? ['error', 'warn'] : undefined,
  });
  await backend.listen();
  const config = new DemoConfig(backendTarget, { ca: pki.ca, ...pki.gateway, expectedServerIds: [INVENTORY_ID] });
  const gateway = await NestFactory.create(GatewayModule.register(config), { logger: once ? ['error', 'warn'] : undefined });
  gateway.enableShutdownHooks();
  backend.enableShutdownHooks();
  if (once) {
    try {
      const context = gateway.get(MeshContext);
      await context.run({ requestId: 'demo-once' }, () => runOnce(gateway.get(InventoryGateway)));
      const status = await gateway.get(MeshClientRegistry).get('inventory').checkHealth();
      console.log(`${'health'.padEnd(14)} ${status}`);
    } finally {
      await gateway.close();
      await backend.close();
    }
    return;
  }
  await runOnce(gateway.get(InventoryGateway));
  await gateway.listen(Number(process.env.PORT ?? 3000), '127.0.0.1');
  log.log(`backend (gRPC) on ${backendTarget}; gateway on ${await gateway.getUrl()}`);
  log.log(`health: ${await gateway.getUrl()}/health  metrics: ${await gateway.getUrl()}/metrics`);
  log.log(`mTLS on: gateway ${'spiffe://datapunk.local/ns/demo/sa/gateway'} -> backend ${INVENTORY_ID}`);
  log.log(`try: curl -H 'x-request-id: r1' ${await gateway.getUrl()}/items/apple  |  curl ${await gateway.getUrl()}/items/apple/stock?updates=5`);
}

main().catch((error: unknown) => {
  log.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
