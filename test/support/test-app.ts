import { Test, type TestingModule } from '@nestjs/testing';
import { MeshClientModule, type MeshClientOptions, type MeshModuleOptions } from '@datapunk/mesh-client';
import { LogCapture } from './log-capture.js';
import { echoProto } from './protos.js';

/** Options of an insecure client of the Echo service at `target`. */
export function echoClient(target: string, extra: Partial<MeshClientOptions> = {}): MeshClientOptions {
  return { name: 'echo', target, proto: echoProto, insecure: true, ...extra };
}

/** The one helper that builds a test app: a compiled, initialised module with the given mesh options. */
export async function createTestApp(options: MeshModuleOptions, extraImports: unknown[] = []): Promise<TestingModule> {
  const builder = Test.createTestingModule({ imports: [MeshClientModule.forRoot(options), ...(extraImports as [])] });
  if (LogCapture.current) builder.setLogger(LogCapture.current);
  const moduleRef = await builder.compile();
  await moduleRef.init();
  return moduleRef;
}
