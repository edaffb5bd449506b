import type { Subscription } from 'rxjs';
import type { TestingModule } from '@nestjs/testing';
import { MeshClientRegistry, isMeshClientError, type MeshClient } from '@datapunk/mesh-client';
import { compositionOptions, compositionPlugin, requestStream, type CallPlan, type Composition, type HookCounts } from './composition.js';
import { createTestApp, echoClient } from './test-app.js';

/** How late a call may settle past its deadline. */
export const LATE_MS = 100;
/** A call not settled this long past its deadline is hung. */
const HUNG_MS = 2000;

/** What running one composition found: every broken guarantee, one line each. */
export interface CompositionResult {
  violations: string[];
  calls: number;
  outcomes: Record<string, number>;
  counts: HookCounts;
}

function steering(plan: CallPlan): Record<string, string> {
  const metadata: Record<string, string> = {};
  if (plan.status !== undefined) metadata['x-test-status'] = String(plan.status);
  if (plan.delayMs > 0) metadata['x-test-delay-ms'] = String(plan.delayMs);
  return metadata;
}

/** One call: resolves with its outcome ('ok', a category, 'cancelled') and how long it took. */
function runCall(client: MeshClient, plan: CallPlan, i: number, violations: string[]): Promise<string> {
  const options = { timeoutMs: plan.timeoutMs, metadata: steering(plan) };
  const started = performance.now();
  const settled = (outcome: string): string => {
    const late = performance.now() - started - plan.timeoutMs;
    if (late > LATE_MS) violations.push(`call ${String(i)} (${plan.kind}) settled ${late.toFixed(0)} ms past its deadline (${outcome})`);
    return outcome;
  };
  const failed = (error: unknown): string => {
    if (!isMeshClientError(error)) violations.push(`call ${String(i)} (${plan.kind}) failed with a non-MeshClientError: ${String(error)}`);
    return settled(isMeshClientError(error) ? error.category : 'other');
  };
  if (plan.kind === 'iterate') return iterateCall(client, plan, i, options, settled, failed, violations);
  const call$ =
    plan.kind === 'unary'
      ? client.unary('Unary', { message: `m${String(i)}` }, options)
      : plan.kind === 'server'
        ? client.serverStream('ServerStream', { message: `m${String(i)}`, count: plan.count }, options)
        : plan.kind === 'client'
          ? client.clientStream('ClientStream', requestStream(plan.count, `m${String(i)}`), options)
          : client.bidiStream('Bidi', requestStream(plan.count, `m${String(i)}`), options);
  return new Promise((resolve) => {
    const held: { subscription?: Subscription } = {};
    let cancel: NodeJS.Timeout | undefined;
    const watchdog = setTimeout(() => {
      violations.push(`call ${String(i)} (${plan.kind}, deadline ${String(plan.timeoutMs)} ms) never settled`);
      held.subscription?.unsubscribe();
      resolve('hung');
    }, plan.timeoutMs + HUNG_MS);
    const done = (outcome: string): void => {
      clearTimeout(watchdog);
      clearTimeout(cancel);
      resolve(outcome);
    };
    const subscription = call$.subscribe({ error: (e: unknown) => done(failed(e)), complete: () => done(settled('ok')) });
    held.subscription = subscription;
    if (plan.cancelAfterMs !== undefined && !subscription.closed) {
      cancel = setTimeout(() => {
        subscription.unsubscribe();
        done('cancelled');
      }, plan.cancelAfterMs);
    }
  });
}

async function iterateCall(
  client: MeshClient,
  plan: CallPlan,
  i: number,
  options: { timeoutMs: number; metadata: Record<string, string> },
  settled: (outcome: string) => string,
  failed: (error: unknown) => string,
  violations: string[],
): Promise<string> {
  const started = performance.now();
  const iterable = client.iterate<unknown, { index: number }>(
    'ServerStream',
    { message: `m${String(i)}`, count: plan.count },
    { ...options, highWaterMark: 1 },
  );
  const iterator = iterable[Symbol.asyncIterator]();
  let watchdog: NodeJS.Timeout | undefined;
  const hung = new Promise<'hung'>((resolve) => (watchdog = setTimeout(() => resolve('hung'), plan.timeoutMs + HUNG_MS)));
  let seen = 0;
  try {
    for (;;) {
      const next = await Promise.race([iterator.next(), hung]);
      if (next === 'hung') {
        violations.push(`iterate call ${String(i)} (deadline ${String(plan.timeoutMs)} ms) never settled`);
        void iterator.return?.();
        return 'hung';
      }
      if (next.done) return settled('ok');
      if (next.value.index !== seen)
        violations.push(`iterate call ${String(i)} got message ${String(next.value.index)} where ${String(seen)} was due`);
      seen++;
      if (plan.cancelAfterMs !== undefined && performance.now() - started > plan.cancelAfterMs) {
        await iterator.return?.();
        return 'cancelled';
      }
      await new Promise((r) => setTimeout(r, 2));
    }
  } catch (error) {
    return failed(error);
  } finally {
    clearTimeout(watchdog);
  }
}

/**
 * Runs one composition: an app whose one client has the composition's features, every call of
 * it at once against `target`, then checks what must hold whatever the mix: every call settled by
 * its deadline + LATE_MS with a MeshClientError or an answer, the concurrency limit back at 0
 * active and 0 waiting, the in-flight count at 0, every `afterAttempt` paired with a `beforeAttempt`.
 */
export async function runComposition(c: Composition, target: string): Promise<CompositionResult> {
  const violations: string[] = [];
  const counts: HookCounts = { before: 0, after: 0 };
  const plugins = c.plugins.map((p, i) => compositionPlugin(i, p.behaviour, p.p, c.seed, counts));
  const app: TestingModule = await createTestApp({ plugins, clients: [echoClient(target, compositionOptions(c))] });
  const client = app.get(MeshClientRegistry).get('echo');
  const outcomes: Record<string, number> = {};
  try {
    const results = await Promise.all(c.calls.map((plan, i) => runCall(client, plan, i, violations)));
    for (const r of results) outcomes[r] = (outcomes[r] ?? 0) + 1;
    // what a cancelled call held comes back on its way out
    await new Promise((r) => setImmediate(r));
    const limit = client.concurrency;
    if (limit && (limit.active !== 0 || limit.waiting !== 0))
      violations.push(`the limit holds ${String(limit.active)} active, ${String(limit.waiting)} waiting after every call ended`);
    if (client.inflight !== 0) violations.push(`${String(client.inflight)} calls still in flight after every call ended`);
    if (counts.before !== counts.after) violations.push(`beforeAttempt ran ${String(counts.before)} times, afterAttempt ${String(counts.after)}`);
  } finally {
    await app.close();
  }
  return { violations, calls: c.calls.length, outcomes, counts };
}
