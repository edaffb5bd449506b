import { MeshConfigError } from '../../errors/mesh-config.error.js';
import { isPromiseLike, watchUnawaited } from '../../config/promise-like.js';
import { describeThrown } from '../../errors/describe-thrown.js';
import type { MethodInfo } from '../../proto/method-table.js';
import type { MeshClientPlugin, MeshMethodInfo } from '../../config/mesh-plugin.interface.js';

/** The plugins that apply to one method, in order (module plugins first, then the client's). */
export interface MethodPlugins {
  readonly info: MeshMethodInfo;
  /** Plugins with `intercept`, outermost first. */
  readonly interceptors: readonly MeshClientPlugin[];
  /** Plugins with a per-attempt hook, first to see an attempt start first. */
  readonly attempts: readonly MeshClientPlugin[];
  /** Plugins with `beforeAttempt`, in order. */
  readonly befores: readonly MeshClientPlugin[];
  /** Plugins with `onHeaders`, in order. */
  readonly headerReaders: readonly MeshClientPlugin[];
  /** Plugins with `afterAttempt`, last first (the first plugin is the last to see an attempt end). */
  readonly afters: readonly MeshClientPlugin[];
  /** Some plugin reads response headers. */
  readonly readsHeaders: boolean;
  /** Some plugin sees attempts end (so requests must stay replayable). */
  readonly seesEnds: boolean;
}

/** A method as plugins see it. */
export function methodInfoOf(method: MethodInfo, idempotent: boolean): MeshMethodInfo {
  const { client, service, method: name } = method.site;
  return Object.freeze({ client, service, method: name, path: method.path, kind: method.kind, idempotent });
}

/**
 * The plugins of each method of a client, asking each plugin's `appliesTo` once per method. A
 * method no plugin applies to has no entry (its calls take the path without plugins).
 */
export function pluginsByMethod(
  plugins: readonly MeshClientPlugin[],
  methods: Iterable<MethodInfo>,
  idempotent: (rpc: string) => boolean,
): ReadonlyMap<string, MethodPlugins> {
  const byMethod = new Map<string, MethodPlugins>();
  if (plugins.length === 0) return byMethod;
  for (const method of methods) {
    const info = methodInfoOf(method, idempotent(method.name));
    const applying = plugins.filter((p) => applies(p, info));
    if (applying.length === 0) continue;
    const attempts = applying.filter((p) => p.beforeAttempt || p.onHeaders || p.afterAttempt);
    byMethod.set(method.name, {
      info,
      interceptors: applying.filter((p) => p.intercept),
      attempts,
      befores: attempts.filter((p) => p.beforeAttempt),
      headerReaders: attempts.filter((p) => p.onHeaders),
      afters: attempts.filter((p) => p.afterAttempt).reverse(),
      readsHeaders: attempts.some((p) => p.onHeaders),
      seesEnds: attempts.some((p) => p.afterAttempt),
    });
  }
  return byMethod;
}

function applies(plugin: MeshClientPlugin, info: MeshMethodInfo): boolean {
  if (!plugin.appliesTo) return true;
  let answer: unknown;
  let later: boolean;
  try {
    answer = plugin.appliesTo(info);
    later = isPromiseLike(answer); // (a `then` getter that throws is the plugin's)
  } catch (error) {
    throw new MeshConfigError(`plugin '${plugin.name}' failed in appliesTo(${info.client}/${info.method}): ${describeThrown(error)}`, {
      cause: error,
    });
  }
  if (later) {
    watchUnawaited(answer, () => undefined); // its answer, or its failure, comes too late to matter
    throw new MeshConfigError(
      `plugin '${plugin.name}' answered appliesTo(${info.client}/${info.method}) with a Promise: appliesTo is asked once per method while the client is made, and must return true or false at once`,
    );
  }
  return answer === true;
}
