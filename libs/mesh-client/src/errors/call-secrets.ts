/**
 * Secrets a call carries beyond its caller's token, kept for the call so that it masks them in
 * what user code throws as it masks the token: TokenPlugin's token, and the metadata its hooks
 * changed (an attempt's own copy, a MeshCall a plugin handed on), kept by reference and read for
 * credentials only when something failed. Copies of one call (`with()`) share its `progress`; a
 * MeshCall a plugin made itself is tied to its call when handed on.
 */
interface Noted {
  readonly secrets: string[];
  readonly metadata: object[];
}
const noted = new WeakMap<object, Noted>();

/** At most this many of each per call: a refresh per attempt adds a token, a hook reading an attempt's metadata one copy. */
const MAX_NOTED = 32;
/** A MeshCall a plugin made itself and handed on (not through `with()`): the call whose secrets it shares. */
const aliases = new WeakMap<object, object>();

/** What a call's secrets are kept under: the progress its copies share, or the object itself (a plugin's own MeshCall). */
function keyOf(call: object): object {
  const alias = aliases.get(call);
  if (alias) return alias;
  try {
    const progress = (call as { progress?: unknown }).progress;
    return typeof progress === 'object' && progress !== null ? progress : call;
  } catch {
    return call; // a plugin's own MeshCall whose getter throws (a Proxy): its secrets are its own
  }
}

function notedFor(call: unknown): Noted | undefined {
  if (typeof call !== 'object' || call === null) return undefined; // (a plugin's unit test may give a partial attempt)
  const key = keyOf(call);
  let entry = noted.get(key);
  if (!entry) noted.set(key, (entry = { secrets: [], metadata: [] }));
  return entry;
}

/**
 * `handed` (a MeshCall a plugin made and handed on in place of `call`) shares `call`'s secrets from
 * now on, unless it already belongs to a call (a copy, or another call's MeshCall: that call keeps its own).
 */
export function shareSecrets(handed: unknown, call: object): void {
  if (typeof handed !== 'object' || handed === null || handed === call || aliases.has(handed) || ownsProgress(handed)) return;
  aliases.set(handed, keyOf(call));
}

/** Whether `call` is a copy of some call (its `progress` the same object at every read). */
function ownsProgress(call: object): boolean {
  try {
    const progress = (call as { progress?: unknown }).progress;
    return typeof progress === 'object' && progress !== null && (call as { progress?: unknown }).progress === progress;
  } catch {
    return false;
  }
}

export function noteSecret(call: object | undefined, secret: string): void {
  const list = notedFor(call)?.secrets;
  if (list && !list.includes(secret) && list.length < MAX_NOTED) list.push(secret);
}

/** Metadata a hook of `call` read or changed (kept as it is: its credentials are read when a failure is masked). */
export function noteMetadata(call: object | undefined, metadata: object): void {
  const list = notedFor(call)?.metadata;
  if (list && !list.includes(metadata) && list.length < MAX_NOTED) list.push(metadata);
}

/** The secrets noted for `call` and `also` (another MeshCall a plugin made; none for a call nothing was noted on). */
export function notedSecrets(call: object | undefined, also?: object): readonly string[] {
  return both(call, also, (entry) => entry.secrets);
}

/** The metadata noted for `call` and `also`. */
export function notedMetadata(call: object | undefined, also?: object): readonly object[] {
  return both(call, also, (entry) => entry.metadata);
}

function both<T>(call: object | undefined, also: object | undefined, pick: (entry: Noted) => T[]): readonly T[] {
  const first = call && noted.get(keyOf(call));
  const second = also && also !== call ? noted.get(keyOf(also)) : undefined;
  if (!second || second === first) return first ? pick(first) : [];
  return first ? [...pick(first), ...pick(second)] : pick(second);
}
