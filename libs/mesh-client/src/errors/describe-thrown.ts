/**
 * A message for anything thrown: an Error's message, else its string form, and never a throw of
 * its own (a value whose toString or message getter is broken, a hostile Proxy, is described by
 * its type or not at all).
 */
export function describeThrown(value: unknown): string {
  try {
    return value instanceof Error ? String(value.message) : String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return 'a value that cannot be read';
    }
  }
}
