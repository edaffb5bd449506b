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
 * What an error keeps as its `cause`: `thrown` itself, or, when it or one of its own causes (a few
 * deep) is grpc-js's refusal of a metadata value, a copy whose messages and stacks leave the value
 * out (`console.error(error)` prints the whole chain of causes).
 */
export function causeWithoutSecrets(thrown: unknown, depth = 0): unknown {
  try {
    if (!(thrown instanceof Error)) return thrown;
    const refused = typeof thrown.message === 'string' && thrown.message.includes(REFUSED);
    // deeper than that (or a cycle) the chain ends here: kept when it says nothing secret
    if (depth > 4) return refused ? undefined : thrown;
    const inner = causeOf(thrown);
    const cleanInner = inner === undefined ? undefined : causeWithoutSecrets(inner, depth + 1);
    if (!refused && cleanInner === inner) return thrown;
    const copy = new Error(withoutMetadataValues(String(thrown.message)), cleanInner === undefined ? undefined : { cause: cleanInner });
    copy.name = thrown.name;
    copy.stack = typeof thrown.stack === 'string' ? withoutMetadataValues(thrown.stack) : copy.stack;
    return copy;
  } catch {
    return undefined;
  }
}

/** `error.cause`, or undefined when reading it throws (a hostile getter or Proxy). */
function causeOf(error: Error): unknown {
  try {
    return error.cause;
  } catch {
    return undefined;
  }
}
