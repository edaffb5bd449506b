import { Server, type status, type UntypedServiceImplementation } from '@grpc/grpc-js';
import { rpcNameOf } from '../proto/method-table.js';
import type { ProtoSource } from '../config/mesh-client-options.interface.js';
import { MeshConfigError } from '../errors/mesh-config.error.js';
import { OptionChecks, MAX_TIMER_MS } from '../options/option-checks.js';
import { CallRecorder } from './call-recorder.js';
import { grpcHandlerOf, type FakeCallDeps } from './fake-call.js';
import { bindHandlers, loadFakeService, methodNamed, type FakeService } from './fake-service.js';
import { fakeStatus, statusCodeOf, type FakeStatusError } from './fake-status.js';
import { FakeTransport } from './fake-transport.js';
import type { FakeCall, FakeTlsMaterial, MeshFakeOptions } from './fake.interface.js';
import { FaultScript } from './fault-script.js';
import { createFakePki } from './tls/certificates.js';
import type { FakeHandlers } from './typed-handlers.interface.js';

/** A whole number >= 0 given to `fake.<api>()`; a MeshConfigError naming the argument otherwise. */
function whole(api: string, field: string, value: unknown, max = Number.MAX_SAFE_INTEGER): number {
  const check = new OptionChecks(`fake.${api}()`);
  if (value === undefined) check.fail(field, 'is required', value);
  return check.number(field, value, 0, { min: 0, max, integer: true });
}

/**
 * A fake of one remote service for tests: a real grpc-js server on 127.0.0.1 (port from the OS)
 * answering with the given handlers, scriptable faults, and a record of every call.
 *
 * @example
 * const inventory = await MeshFake.start(inventoryProto, { GetItem: ({ id }) => ({ id, stock: 3 }) });
 * inventory.failNext(1, 'UNAVAILABLE');
 * // ... the app calls it (MeshTestingModule.withFakes({ inventory }))
 * expect(inventory.lastCall('GetItem')).toMatchObject({ request: { id: 'a' }, metadata: { 'x-tenant-id': 't1' } });
 */
export class MeshFake {
  /** Where clients reach the fake: '127.0.0.1:<port>'. */
  readonly target: string;
  private readonly faults: FaultScript;
  private readonly recorder: CallRecorder;
  private closed: Promise<void> | undefined;

  private constructor(
    private readonly fakeService: FakeService,
    deps: FakeCallDeps,
    private readonly closing: AbortController,
    private readonly server: Server,
    private readonly transport: FakeTransport,
    /** Mutual TLS material for clients (`tls: fake.tls`); undefined for a plaintext fake. */
    readonly tls: FakeTlsMaterial | undefined,
  ) {
    this.target = `127.0.0.1:${String(transport.port)}`;
    this.faults = deps.faults;
    this.recorder = deps.recorder;
  }

  /**
   * Starts a fake of the service of `proto` (the `ProtoSource` clients take). Handlers are named by
   * RPC name or Nest's lowerCamel name; typed by a ts-proto interface with `MeshFake.start<S>()`.
   * Throws MeshConfigError for a proto without that service or a handler no RPC has.
   */
  static async start<S = unknown>(proto: ProtoSource, handlers: FakeHandlers<S>, opts: MeshFakeOptions = {}): Promise<MeshFake> {
    const service = loadFakeService(proto);
    const bound = bindHandlers(service, handlers);
    const check = new OptionChecks('MeshFake.start(opts)');
    check.knownKeys(check.object('', opts), ['tls']);
    const pki = check.boolean('tls', opts.tls, false) ? createFakePki(service.name) : undefined;
    // the client's limits are what a test exercises: the fake takes and sends messages of any size
    const server = new Server({ 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
    const closing = new AbortController();
    const deps: FakeCallDeps = { service, handlers: bound, faults: new FaultScript(), recorder: new CallRecorder(), closing: closing.signal };
    const implementation: UntypedServiceImplementation = {};
    for (const [key, def] of Object.entries(service.definition)) {
      implementation[key] = grpcHandlerOf(deps, service.methods.get(rpcNameOf(key, def))!) as UntypedServiceImplementation[string];
    }
    server.addService(service.definition, implementation);
    const transport = await FakeTransport.listen(server, pki);
    const tls = pki && Object.freeze({ ca: pki.ca, cert: pki.client.cert, key: pki.client.key, serverName: 'localhost' });
    return new MeshFake(service, deps, closing, server, transport, tls);
  }

  /** Full name of the faked service, e.g. 'demo.inventory.Inventory'. */
  get service(): string {
    return this.fakeService.name;
  }

  /** Connections open to the fake now. */
  get connections(): number {
    return this.transport.connections;
  }

  /** Calls received, oldest first: of `method` (RPC or Nest name) or of every method. */
  calls(method?: string): FakeCall[] {
    return this.recorder.calls(this.rpcOf(method, 'calls'));
  }

  /** The last call received (of `method`, when given). */
  lastCall(method?: string): FakeCall | undefined {
    return this.calls(method).at(-1);
  }

  /** The next `n` calls (any method, after failures already scripted) fail with `code` (number or name). */
  failNext(n: number, code: status | string, details?: string): this {
    const count = whole('failNext', 'n', n);
    const checked = statusCodeOf('fake.failNext()', code);
    this.faults.failNext(count, fakeStatus(checked, details ?? `MeshFake: scripted failure (failNext)`) as FakeStatusError);
    return this;
  }

  /** Calls of `method` (every method without it) wait `ms` before they are answered, until `reset()`. */
  delay(ms: number, method?: string): this {
    const checked = whole('delay', 'ms', ms, MAX_TIMER_MS);
    this.faults.delay(checked, this.rpcOf(method, 'delay'));
    return this;
  }

  /** Calls of `method` (every method without it) are never answered (until the client cancels or the fake closes), until `reset()`. */
  hang(method?: string): this {
    this.faults.hang(this.rpcOf(method, 'hang'));
    return this;
  }

  /**
   * Response streams of `method` (every server- and bidi-streaming method without it) send at most
   * `k` messages, then end with `error` (a `fakeStatus(...)`; anything else answers UNKNOWN), until `reset()`.
   */
  sendAfter(k: number, error: Error, method?: string): this {
    const count = whole('sendAfter', 'k', k);
    if (!(error instanceof Error)) throw new MeshConfigError("fake.sendAfter(): error must be an Error, e.g. fakeStatus('UNAVAILABLE')");
    const rpc = this.rpcOf(method, 'sendAfter');
    const kind = rpc === undefined ? undefined : this.fakeService.methods.get(rpc)!.kind;
    if (kind === 'unary' || kind === 'client-stream') {
      throw new MeshConfigError(
        `fake.sendAfter(): ${String(rpc)} answers with one message (${kind}); sendAfter applies to server- and bidi-streaming RPCs`,
      );
    }
    this.faults.sendAfter(count, error, rpc);
    return this;
  }

  /** Drops every open connection (TCP, without GOAWAY): calls on them fail UNAVAILABLE. The fake keeps listening. */
  dropConnection(): Promise<void> {
    return this.transport.dropConnections();
  }

  /** Forgets the scripted faults and the recorded calls. */
  reset(): this {
    this.faults.clear();
    this.recorder.clear();
    return this;
  }

  /** Stops the fake: open calls end, connections drop, nothing of it stays (sockets, timers). Idempotent. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      this.closing.abort();
      await this.transport.close();
      this.server.forceShutdown();
    })();
    return this.closed;
  }

  private rpcOf(method: string | undefined, api: string): string | undefined {
    return method === undefined ? undefined : methodNamed(this.fakeService, method, `fake.${api}()`).rpc;
  }
}
