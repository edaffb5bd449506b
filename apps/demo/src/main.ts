import 'reflect-metadata';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { ServerCredentials, type Server } from '@grpc/grpc-js';
import { HealthImplementation } from 'grpc-health-check';
import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Transport, type MicroserviceOptions } from '@nestjs/microservices';
import { MeshContext } from '@datapunk/mesh-client';
import { INVENTORY_ID, ensureDevPki } from './dev-pki.js';
import { BackendModule } from './backend/backend.module.js';
import { GatewayModule, DemoConfig } from './gateway/gateway.module.js';
import { tour, type Print } from './tour.js';
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

/** One line of the tour on stdout. */
const print: Print = (topic, line) => console.log(`${topic.padEnd(14)} ${line}`);

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
  // quiet while the tour shows failures on purpose (the breaker's outage, the impostor check)
  const gateway = await NestFactory.create(GatewayModule.register(config), { logger: ['error'] });
  gateway.enableShutdownHooks();
  backend.enableShutdownHooks();
  await gateway.listen(once ? 0 : Number(process.env.PORT ?? 3000), '127.0.0.1');
  if (once) {
    try {
      await gateway.get(MeshContext).run({ requestId: 'demo-once' }, () => tour(gateway, backend, print));
    } finally {
      await gateway.close();
      await backend.close();
    }
    return;
  }
  await tour(gateway, backend, print);
  const url = await gateway.getUrl();
  log.log(`backend (gRPC, mutual TLS) on ${backendTarget}; gateway on ${url}; try:`);
  for (const line of [
    `curl -H 'x-request-id: r1' ${url}/items/apple`,
    `curl ${url}/items/apple/stock?updates=5`,
    `curl -H 'grpc-timeout: 300m' ${url}/items/slow`,
    `curl -X POST -H 'content-type: application/json' -d '[{"id":"fig","name":"Fig","stock":4}]' ${url}/items/import`,
    `curl ${url}/health`,
    `curl ${url}/metrics`,
  ])
    console.log(`  ${line}`);
}

main().catch((error: unknown) => {
  log.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exitCode = 1;
});
