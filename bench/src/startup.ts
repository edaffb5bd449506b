import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { MeshClientModule, type MeshClientOptions } from '@datapunk/mesh-client';
import { manyProtos } from './generated-protos.js';

/**
 * One start-up, in a fresh process: `node --expose-gc startup.js <clients>` builds a Nest
 * application context with `clients` mesh clients spread over 10 proto files (several clients
 * per file), and prints JSON: the time from module creation to a started app, and the heap it
 * added after GC.
 */
const count = Number(process.argv[2] ?? '100');
const gc = (globalThis as { gc?: () => void }).gc!;
const protos = manyProtos(10);
const clients: MeshClientOptions[] = Array.from({ length: count }, (_, i) => {
  const proto = protos[i % protos.length]!;
  return {
    name: `c${String(i)}`,
    target: `127.0.0.1:${String(10_000 + i)}`,
    insecure: true,
    proto: { path: proto.path, package: proto.package, service: 'Svc' },
  };
});
gc();
const heapBefore = process.memoryUsage().heapUsed;
const t0 = performance.now();
@Module({ imports: [MeshClientModule.forRoot({ clients })] })
class StartupModule {}
const app = await NestFactory.createApplicationContext(StartupModule, { logger: ['error'] });
await app.init();
const ms = performance.now() - t0;
gc();
const heapMb = (process.memoryUsage().heapUsed - heapBefore) / 2 ** 20;
await app.close();
process.stdout.write(`${JSON.stringify({ clients: count, ms, heapMb })}\n`);
