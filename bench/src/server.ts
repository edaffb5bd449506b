import {
  Metadata,
  Server,
  ServerCredentials,
  status,
  type ServerDuplexStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type sendUnaryData,
} from '@grpc/grpc-js';
import { echoService } from './proto.js';

/**
 * The benchmark backend, run in its own process: echoes unary and bidi calls. `x-bench-fail`
 * fails a call with UNAVAILABLE; `x-bench-count` answers with the number of calls so far;
 * `x-bench-gc` collects garbage first (so that no round pays for the previous one's): its young
 * generation when the value is `minor`, else all of it.
 */
let served = 0;
const server = new Server();
server.addService(echoService, {
  Unary: (call: ServerUnaryCall<{ message: string }, unknown>, cb: sendUnaryData<unknown>) => {
    if (call.metadata.get('x-bench-count').length > 0) return cb(null, { message: String(served) });
    const gc = call.metadata.get('x-bench-gc');
    if (gc.length > 0) {
      (globalThis as { gc?: (o: { type: 'minor' | 'major' }) => void }).gc?.({ type: gc[0] === 'minor' ? 'minor' : 'major' });
      return cb(null, { message: 'gc' });
    }
    served++;
    if (call.metadata.get('x-bench-fail').length > 0) return cb({ code: status.UNAVAILABLE, details: 'bench failure' });
    cb(null, { message: call.request.message, index: 0 });
  },
  // Held open (headers sent, no message, never ended): what keeps a concurrency permit taken.
  ServerStream: (call: ServerWritableStream<unknown, unknown>) => call.sendMetadata(new Metadata()),
  ClientStream: () => undefined,
  Bidi: (call: ServerDuplexStream<{ message: string }, unknown>) => {
    call.on('data', (m: { message: string }) => call.write({ message: m.message }));
    call.on('end', () => call.end());
  },
});
server.bindAsync('127.0.0.1:0', ServerCredentials.createInsecure(), (error, port) => {
  if (error) throw error;
  process.stdout.write(`${String(port)}\n`);
});
// Ends with its parent: stdin closes when the bench stops it or exits.
process.stdin.resume();
process.stdin.on('end', () => {
  server.forceShutdown();
  process.exit(0);
});
