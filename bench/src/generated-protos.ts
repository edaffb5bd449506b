import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const MESSAGES = `
message EchoRequest { string message = 1; int32 count = 2; bytes payload = 3; int32 reply_bytes = 4; }
message EchoReply { string message = 1; int32 index = 2; bytes payload = 3; int32 received = 4; }
`;

const dir = (): string => mkdtempSync(join(tmpdir(), 'mesh-bench-'));

/**
 * mesh.test.Echo with `methods` RPCs: the bench server's Unary (same path, so the server answers
 * it) and Extra1..ExtraN that are never called. What a client of a wide service pays per call.
 */
export function wideEchoProto(methods: number): string {
  const extra = Array.from({ length: methods - 1 }, (_, i) => `  rpc Extra${String(i + 1)} (EchoRequest) returns (EchoReply);`);
  const file = join(dir(), `echo-${String(methods)}.proto`);
  writeFileSync(
    file,
    `syntax = "proto3";\npackage mesh.test;\nservice Echo {\n  rpc Unary (EchoRequest) returns (EchoReply);\n${extra.join('\n')}\n}\n${MESSAGES}`,
  );
  return file;
}

/** `files` proto files, each its own package `bench.p<i>` with one service `Svc` of 10 methods. */
export function manyProtos(files: number): { path: string; package: string }[] {
  const root = dir();
  mkdirSync(root, { recursive: true });
  return Array.from({ length: files }, (_, i) => {
    const pkg = `bench.p${String(i)}`;
    const rpcs = Array.from({ length: 10 }, (_, m) => `  rpc M${String(m)} (EchoRequest) returns (EchoReply);`).join('\n');
    const path = join(root, `p${String(i)}.proto`);
    writeFileSync(path, `syntax = "proto3";\npackage ${pkg};\nservice Svc {\n${rpcs}\n}\n${MESSAGES}`);
    return { path, package: pkg };
  });
}
