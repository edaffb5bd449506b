/**
 * Secrets a plugin of this package puts on a call's wire (TokenPlugin's token), kept for the call
 * its hooks were given, so the call masks them as it masks its caller's token in what user code
 * throws (another plugin quoting the header it was refused with). Copies of one call (`with()`)
 * share its `progress`: a secret noted on one of them is noted for all.
 */
const noted = new WeakMap<object, string[]>();

/** At most this many per call: a refresh per attempt adds one, a hook's own credential one or a few. */
const MAX_NOTED = 16;
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

/** `handed` (a MeshCall a plugin handed on in place of `call`) shares `call`'s secrets from now on. */
export function shareSecrets(handed: unknown, call: object): void {
  if (typeof handed === 'object' && handed !== null && handed !== call) aliases.set(handed, keyOf(call));
}

export function noteSecret(call: object | undefined, secret: string): void {
  if (typeof call !== 'object' || call === null) return; // (a plugin's unit test may give a partial attempt)
  const key = keyOf(call);
  const list = noted.get(key);
  if (!list) noted.set(key, [secret]);
  else if (!list.includes(secret) && list.length < MAX_NOTED) list.push(secret);
}

/** The secrets noted for `call` and `also` (another MeshCall a plugin made; none for a call no plugin of this package noted one on). */
export function notedSecrets(call: object | undefined, also?: object): readonly string[] {
  const first = (call && noted.get(keyOf(call))) ?? [];
  const second = also && also !== call ? noted.get(keyOf(also)) : undefined;
  return second && second !== first ? [...first, ...second] : first;
}
