/**
 * Secrets a plugin of this package puts on a call's wire (TokenPlugin's token), kept by the
 * MeshCall its hooks were given, so the call masks them as it masks its caller's token in what
 * user code throws (another plugin quoting the header it was refused with).
 */
const noted = new WeakMap<object, string[]>();

/** At most this many per call: a refresh per attempt adds one. */
const MAX_NOTED = 8;

export function noteSecret(call: object | undefined, secret: string): void {
  if (typeof call !== 'object' || call === null) return; // (a plugin's unit test may give a partial attempt)
  const list = noted.get(call);
  if (!list) noted.set(call, [secret]);
  else if (!list.includes(secret) && list.length < MAX_NOTED) list.push(secret);
}

/** The secrets noted for `call` (none for a call no plugin of this package noted one on). */
export function notedSecrets(call: object | undefined): readonly string[] {
  return (call && noted.get(call)) ?? [];
}
