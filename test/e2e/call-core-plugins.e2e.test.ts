import type { TestingModule } from '@nestjs/testing';
import { register } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { MeshAttemptFault, MeshClientRegistry, type MeshAttempt, type MeshClient, type MeshClientPlugin } from '@datapunk/mesh-client';
import { messagesOf, settleOf, summary, useUncaughtCollector } from '../support/call-guards.js';
import { startEchoServer, type EchoServer } from '../support/echo-server.js';
import { parseMetrics } from '../support/prometheus.js';
import { LogCapture } from '../support/log-capture.js';
import { createTestApp, echoClient } from '../support/test-app.js';
import { eventually } from '../support/wait.js';

// Issue #30 "plugin contract holes": on da6cde0 afterAttempt was skipped for hedge losers and for
// calls unsubscribed mid-attempt, and MeshAttemptFault codes were unchecked (code 0 failed a call
// with codeName OK; 99, -1, NaN, 1.5, 2^40 each minted a grpc_code label).
const uncaught = useUncaughtCollector();

/** Pairs the hooks as a plugin keeping per-attempt state would: every `before` must meet its `after`. */
class Pairing implements MeshClientPlugin {
  readonly name = 'pairing';
  before = 0;
  after = 0;
  readonly open = new Set<string>();

  /** Calls marked `x-hang-before` wait in this hook for good (the deadline must end them). */
  beforeAttempt(attempt: MeshAttempt): void | Promise<void> {
    this.before++;
    this.open.add(`${String(attempt.call.metadata.get('x-call')[0])}#${String(attempt.attempt)}`);
    if (attempt.metadata.get('x-hang-before').length > 0) return new Promise<void>(() => undefined);
  }

  afterAttempt(attempt: MeshAttempt): void {
    this.after++;
    this.open.delete(`${String(attempt.call.metadata.get('x-call')[0])}#${String(attempt.attempt)}`);
  }
}

/** The grpc_code label values of every series of the registry. */
async function grpcCodeLabels(): Promise<Set<string>> {
  const codes = new Set<string>();
  for (const sample of parseMetrics(await register.metrics())) if (sample.labels.grpc_code !== undefined) codes.add(sample.labels.grpc_code);
  return codes;
}

const STATUS_NAMES = new Set([
  'OK',
  'CANCELLED',
  'UNKNOWN',
  'INVALID_ARGUMENT',
  'DEADLINE_EXCEEDED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'PERMISSION_DENIED',
  'RESOURCE_EXHAUSTED',
  'FAILED_PRECONDITION',
  'ABORTED',
  'OUT_OF_RANGE',
  'UNIMPLEMENTED',
  'INTERNAL',
  'UNAVAILABLE',
  'DATA_LOSS',
  'UNAUTHENTICATED',
]);

describe('the plugin contract', () => {
  let server: EchoServer;
  let app: TestingModule;
  const hedgedPairs = new Pairing();
  const plainPairs = new Pairing();
  const client = (name: string): MeshClient => app.get(MeshClientRegistry).get(name);
  /** afterAttempt of 'ending-0..2', in the order they ran; 'ending-2' (the first to see an end) aborts `abortOnEnd`. */
  const ends: string[] = [];
  let abortOnEnd: AbortController | undefined;
  const ending = (i: number): MeshClientPlugin => ({
    name: `ending-${String(i)}`,
    afterAttempt: () => {
      ends.push(`ending-${String(i)}`);
      if (i === 2) abortOnEnd?.abort();
    },
  });

  /** Starts a call the server answers in 3 s and leaves it once the server has it: the attempt's final pass runs. */
  const leaveMidAttempt = async (name: string, call: string): Promise<void> => {
    const before = server.calls.length;
    const subscription = client(name)
      .unary('Unary', {}, { metadata: { 'x-call': call, 'x-test-delay-ms': '3000' } })
      .subscribe({ error: () => undefined });
    expect(await eventually(() => server.calls.length > before, 3000)).toBe(true);
    subscription.unsubscribe();
  };
  /** Its afterAttempt answers with a promise that rejects (in a final pass, after the call ended, nothing waits for it). */
  const lateReject: MeshClientPlugin = {
    name: 'late-reject',
    afterAttempt: () => Promise.reject(new Error('afterAttempt gave up late')),
  };
  /** Its afterAttempt waits 300 ms, then rejects: the caller leaves meanwhile (the pass was waited for when it began). */
  let slowRejectEntered = false;
  const slowReject: MeshClientPlugin = {
    name: 'slow-reject',
    afterAttempt: () => {
      slowRejectEntered = true;
      return new Promise((_, reject) => setTimeout(() => reject(new Error('gave up after the caller left')), 300));
    },
  };
  /** A final pass where the inner hook throws, the next one's promise rejects and the outer one's never settles. */
  const mixed: MeshClientPlugin[] = [
    { name: 'never-settles', afterAttempt: () => new Promise<void>(() => undefined) },
    { name: 'rejects-too', afterAttempt: () => Promise.reject(new Error('rejected too')) },
    {
      name: 'throws-at-end',
      afterAttempt: () => {
        throw new Error('threw at the end');
      },
    },
  ];
  let logs: LogCapture;

  beforeAll(async () => {
    register.clear();
    logs = LogCapture.install();
    server = await startEchoServer({ delayMs: 300 });
    /** Fails every attempt with the code given in `x-fault-code` (a number, or 'NaN'). */
    const faulty: MeshClientPlugin = {
      name: 'faulty',
      beforeAttempt: (attempt) => {
        const code = attempt.metadata.get('x-fault-code')[0];
        if (code !== undefined) throw new MeshAttemptFault(Number(code), 'injected');
      },
    };
    app = await createTestApp({
      clients: [
        echoClient(server.target, {
          name: 'hedged',
          plugins: [hedgedPairs],
          methods: { Unary: { idempotent: true, hedging: { maxAttempts: 3, delayMs: 30 } } },
        }),
        echoClient(server.target, { name: 'plain', retry: false, plugins: [plainPairs] }),
        echoClient(server.target, { name: 'faulty', retry: false, plugins: [faulty] }),
        echoClient(server.target, { name: 'ending', retry: false, plugins: [ending(0), ending(1), ending(2)] }),
        echoClient(server.target, { name: 'late', retry: false, plugins: [lateReject] }),
        echoClient(server.target, { name: 'slow-reject', retry: false, plugins: [slowReject] }),
        echoClient(server.target, { name: 'mixed', retry: false, plugins: mixed }),
      ],
    });
  });
  afterAll(async () => {
    await app.close();
    await server.stop();
    register.clear();
    LogCapture.uninstall();
  });

  it('afterAttempt runs for hedge losers: once per attempt whose beforeAttempt ran', async () => {
    const settled = await Promise.all(
      Array.from({ length: 5 }, (_, i) => settleOf(client('hedged').unary('Unary', {}, { metadata: { 'x-call': `h${String(i)}` } }), 5000)),
    );
    expect(settled.map((s) => s.kind)).toEqual(Array.from({ length: 5 }, () => 'complete'));
    expect(hedgedPairs.before).toBeGreaterThan(5); // copies went out (every answer takes 300 ms)
    expect(await eventually(() => hedgedPairs.after === hedgedPairs.before, 2000)).toBe(true);
    expect([...hedgedPairs.open]).toEqual([]);
  });

  it('afterAttempt runs for a call unsubscribed mid-attempt', async () => {
    const before = server.calls.length;
    const subscription = client('plain')
      .unary('Unary', {}, { metadata: { 'x-call': 'left', 'x-test-delay-ms': '3000' } })
      .subscribe({ error: () => undefined });
    expect(await eventually(() => server.calls.length > before, 3000)).toBe(true);
    expect(plainPairs.open.has('left#1')).toBe(true);
    subscription.unsubscribe();
    expect(await eventually(() => plainPairs.after === plainPairs.before, 2000)).toBe(true);
    expect([...plainPairs.open]).toEqual([]);
  });

  it('a hook that aborts its call inside afterAttempt: every plugin still sees the attempt end once, innermost first', async () => {
    abortOnEnd = new AbortController();
    const settled = await settleOf(client('ending').unary('Unary', {}, { signal: abortOnEnd.signal }), 3000);
    expect(['complete', 'error']).toContain(settled.kind);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(ends).toEqual(['ending-2', 'ending-1', 'ending-0']);
  });

  it('an afterAttempt promise that rejects after its call ended is reported (a warning naming the plugin), not dropped, and reaches no unhandled path', async () => {
    await leaveMidAttempt('late', 'late-left'); // the attempt's final pass: nothing waits for its hooks
    const reported = (): string[] => logs.lines.filter((l) => l.includes('a plugin hook failed after its call ended') && l.includes("'late-reject'"));
    expect(await eventually(() => reported().length > 0, 2000)).toBe(true);
    expect(reported()).toHaveLength(1);
    expect(reported()[0]).toMatch(/^warn /);
    expect(reported()[0]).toContain("'late-reject'");
    expect(reported()[0]).toContain('afterAttempt gave up late');
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });

  it('a logger that throws while it reports such a failure: nothing reaches the process', async () => {
    let warned = 0;
    const warn = vi.spyOn(logs, 'warn').mockImplementation(() => {
      warned++;
      throw new Error('logger down');
    });
    try {
      await leaveMidAttempt('late', 'late-left-2');
      expect(await eventually(() => warned > 0, 2000)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(messagesOf(uncaught.errors)).toEqual([]);
    } finally {
      warn.mockRestore();
    }
  });

  it('in a final pass, a hook that throws is reported at once, though another hook of the pass never settles', async () => {
    await leaveMidAttempt('mixed', 'mixed-left'); // the attempt's final pass: nothing waits for its hooks
    const reported = (): string[] => logs.lines.filter((l) => l.includes('after its call ended') && l.includes("'throws-at-end'"));
    expect(reported()).toHaveLength(1); // at once
    expect(reported()[0]).toContain('threw at the end');
    await new Promise((resolve) => setTimeout(resolve, 100));
    // the pass's first failure is the one reported; the later rejection is absorbed, not unhandled
    expect(logs.lines.filter((l) => l.includes("'rejects-too'"))).toEqual([]);
    expect(reported()).toHaveLength(1);
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });

  it('an afterAttempt promise that rejects after the caller left while it was waited for is reported, not dropped', async () => {
    slowRejectEntered = false;
    const subscription = client('slow-reject')
      .unary('Unary', {})
      .subscribe({ error: () => undefined });
    expect(await eventually(() => slowRejectEntered, 3000)).toBe(true); // the answer came; its hook is pending
    subscription.unsubscribe();
    const reported = (): string[] => logs.lines.filter((l) => l.includes('after its call ended') && l.includes("'slow-reject'"));
    expect(await eventually(() => reported().length > 0, 2000)).toBe(true);
    expect(reported()).toHaveLength(1);
    expect(reported()[0]).toContain('gave up after the caller left');
    expect(messagesOf(uncaught.errors)).toEqual([]);
  });

  it.each([
    ['the deadline passes while it is on the wire', { 'x-call': 'late', 'x-test-delay-ms': '3000' }],
    ['the deadline passes while its beforeAttempt is pending', { 'x-call': 'stuck', 'x-hang-before': '1' }],
  ])('afterAttempt runs when %s', async (_what, metadata) => {
    const settled = await settleOf(client('plain').unary('Unary', {}, { timeoutMs: 300, metadata }), 3000);
    expect(summary(settled)).toMatchObject({ kind: 'error', category: 'timeout' });
    expect(await eventually(() => plainPairs.after === plainPairs.before, 2000)).toBe(true);
    expect([...plainPairs.open]).toEqual([]);
  });

  it.each([['0'], ['99'], ['-1'], ['NaN'], ['1.5'], [String(2 ** 40)]])(
    "MeshAttemptFault with code %s: the call fails 'internal' naming the plugin, and no new grpc_code label appears",
    async (code) => {
      const settled = await settleOf(client('faulty').unary('Unary', {}, { metadata: { 'x-fault-code': code } }), 3000);
      expect(summary(settled)).toMatchObject({ kind: 'error', category: 'internal' });
      expect(summary(settled).message).toContain("'faulty'");
      const unknown = [...(await grpcCodeLabels())].filter((c) => !STATUS_NAMES.has(c));
      expect(unknown).toEqual([]);
      expect(messagesOf(uncaught.errors)).toEqual([]);
    },
  );

  it('a fault with a valid code (14) still answers the attempt as the server would', async () => {
    const settled = await settleOf(client('faulty').unary('Unary', {}, { metadata: { 'x-fault-code': '14' } }), 3000);
    expect(summary(settled)).toMatchObject({ kind: 'error', category: 'unavailable' });
  });
});
