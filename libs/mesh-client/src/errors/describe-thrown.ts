/**
 * A message for anything thrown: an Error's message, else its string form, and never a throw of
 * its own (a value whose toString is broken is described by its type).
 */
export function describeThrown(value: unknown): string {
  try {
    return value instanceof Error ? value.message : String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
