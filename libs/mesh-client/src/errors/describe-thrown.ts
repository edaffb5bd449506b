/**
 * A message for anything thrown: an Error's message, else its string form, and never a throw of
 * its own (a value whose toString or message getter is broken, a hostile Proxy, is described by
 * its type or not at all). A metadata value grpc-js refused is not repeated (see
 * {@link withoutMetadataValues}).
 */
export function describeThrown(value: unknown): string {
  try {
    return withoutMetadataValues(value instanceof Error ? String(value.message) : String(value));
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return 'a value that cannot be read';
    }
  }
}

const REFUSED = 'Metadata string value "';
// grpc-js's words when `Metadata.set()` refuses a value: the value, often a token, between them
const REFUSED_VALUE = /Metadata string value "[\s\S]*" contains illegal characters/g;
const NOT_SHOWN =
  'Metadata string value (not shown: it may be a secret) contains illegal characters (a newline or a character outside printable ASCII?)';

/**
 * `text` without the metadata values grpc-js quotes when it refuses one (`Metadata string value
 * "Bearer <token>\n" contains illegal characters`): a plugin that sets a token read with its
 * trailing newline must not put that token in an error message or a log line.
 */
export function withoutMetadataValues(text: string): string {
  return text.includes(REFUSED) ? text.replace(REFUSED_VALUE, NOT_SHOWN) : text;
}

/**
 * What an error keeps as its `cause`: `thrown` itself, or, when grpc-js's refusal of a metadata
 * value is in it or in what it holds (its causes, an AggregateError's errors, a cause that is no
 * Error), a copy whose messages and stacks leave the value out (`console.error(error)` prints all
 * of it). Deeper than a few causes (or a cycle) the chain ends: what is not read cannot be shown.
 */
export function causeWithoutSecrets(thrown: unknown, depth = 0): unknown {
  try {
    if (depth > 4) return undefined;
    if (typeof thrown === 'string') return withoutMetadataValues(thrown);
    if (!(thrown instanceof Error)) return refusedIn(thrown) ? new Error(NOT_SHOWN) : thrown;
    const refused = typeof thrown.message === 'string' && thrown.message.includes(REFUSED);
    const inner = causeOf(thrown);
    const cleanInner = inner === undefined ? undefined : causeWithoutSecrets(inner, depth + 1);
    const errors = thrown instanceof AggregateError && Array.isArray(thrown.errors) ? (thrown.errors as unknown[]) : undefined;
    const cleanErrors = errors?.map((e) => causeWithoutSecrets(e, depth + 1));
    if (!refused && cleanInner === inner && (cleanErrors === undefined || cleanErrors.every((e, i) => e === errors![i]))) return thrown;
    const message = withoutMetadataValues(String(thrown.message));
    const options = cleanInner === undefined ? undefined : { cause: cleanInner };
    const copy = cleanErrors ? new AggregateError(cleanErrors, message, options) : new Error(message, options);
    copy.name = thrown.name;
    copy.stack = typeof thrown.stack === 'string' ? withoutMetadataValues(thrown.stack) : copy.stack;
    return copy;
  } catch {
    return undefined;
  }
}

/** Whether a thrown value that is no Error carries the refusal in its `message` (read safely). */
function refusedIn(value: unknown): boolean {
  const message = typeof value === 'object' && value !== null ? (value as { message?: unknown }).message : undefined;
  return typeof message === 'string' && message.includes(REFUSED);
}

/** `error.cause`, or undefined when reading it throws (a hostile getter or Proxy). */
function causeOf(error: Error): unknown {
  try {
    return error.cause;
  } catch {
    return undefined;
  }
}
