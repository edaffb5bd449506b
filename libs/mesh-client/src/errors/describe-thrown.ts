import { inspect } from 'node:util';

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

/** Shorter than this, a token is not masked (it would garble the text around it, and guards nothing). */
export const MIN_MASKED = 8;

/** Tokens a call knows of: its own (what it sent), and the caller's context's now (a `set()` since). */
export type Secrets = readonly (string | undefined)[];

/**
 * `text` with `secrets` (the call's tokens, which user code it ran may have quoted: a plugin
 * refusing one, a metadata function; or a server echoing what an attempt sent it, see
 * security/echoed-credentials.ts) masked as '[token]'.
 */
export function withoutSecret(text: string, secrets: Secrets | undefined): string {
  if (!secrets) return text;
  // the longest first: a secret that holds another (a cookie and one of its values) is masked whole
  const longestFirst = secrets.filter((s): s is string => s !== undefined && s.length >= MIN_MASKED).sort((a, b) => b.length - a.length);
  for (const secret of longestFirst) if (text.includes(secret)) text = text.split(secret).join('[token]');
  return text;
}

/** Both: grpc-js's quoted metadata values and the call's tokens. */
const clean = (text: string, secrets: Secrets | undefined): string => withoutSecret(withoutMetadataValues(text), secrets);

/** Whether `text` holds something {@link clean} takes out. */
const unsafe = (text: string, secrets: Secrets | undefined): boolean => clean(text, secrets) !== text;

/**
 * How far a thrown value's fields are read for a token (an HTTP client's error keeps the request's
 * headers): bounded, as it runs on every failure of user code while a call has a token; getters
 * and custom inspections are not run.
 */
const FIELDS_READ = { depth: 3, customInspect: false, getters: false, maxArrayLength: 50, maxStringLength: 10_000, breakLength: Infinity } as const;

/** Whether a token is in what `value` holds, as far as FIELDS_READ reads it; what cannot be read counts as holding one. */
function holdsSecret(value: unknown, secrets: Secrets | undefined): boolean {
  if (!secrets?.some((s) => s !== undefined && s.length >= MIN_MASKED)) return false;
  try {
    return unsafe(inspect(value, FIELDS_READ), secrets);
  } catch {
    return true;
  }
}

/**
 * What an error keeps as its `cause`: `thrown` itself, or, when grpc-js's refusal of a metadata
 * value or one of the call's tokens (`secrets`) is in it or in what it holds (its causes, an
 * AggregateError's errors, a cause that is no Error, a field as far as FIELDS_READ reads), a
 * copy with its name, message and stack, those masked, and none of its other fields
 * (`console.error(error)` prints all of them). Deeper than a few causes (or a cycle) the chain
 * ends: what is not read cannot be shown.
 */
export function causeWithoutSecrets(thrown: unknown, secrets?: Secrets, depth = 0): unknown {
  try {
    if (depth > 4) return undefined;
    if (typeof thrown === 'string') return clean(thrown, secrets);
    if (!(thrown instanceof Error)) {
      const message = messageIn(thrown);
      if (message !== undefined && unsafe(message, secrets)) return new Error(clean(message, secrets));
      return holdsSecret(thrown, secrets) ? new Error(`${typeof thrown} thrown (not kept: it held the call's token)`) : thrown;
    }
    const dirty = typeof thrown.message === 'string' && unsafe(thrown.message, secrets);
    const inner = causeOf(thrown);
    const cleanInner = inner === undefined ? undefined : causeWithoutSecrets(inner, secrets, depth + 1);
    const errors = thrown instanceof AggregateError && Array.isArray(thrown.errors) ? (thrown.errors as unknown[]) : undefined;
    const cleanErrors = errors?.map((e) => causeWithoutSecrets(e, secrets, depth + 1));
    const kept = cleanInner === inner && (cleanErrors === undefined || cleanErrors.every((e, i) => e === errors![i]));
    if (!dirty && kept && !holdsSecret(thrown, secrets)) return thrown;
    const message = clean(String(thrown.message), secrets);
    const options = cleanInner === undefined ? undefined : { cause: cleanInner };
    const copy = cleanErrors ? new AggregateError(cleanErrors, message, options) : new Error(message, options);
    copy.name = clean(String(thrown.name), secrets);
    copy.stack = typeof thrown.stack === 'string' ? clean(thrown.stack, secrets) : copy.stack;
    return copy;
  } catch {
    return undefined;
  }
}

/** The `message` of a thrown value that is no Error, when it has a string one (read safely: the caller's try). */
function messageIn(value: unknown): string | undefined {
  const message = typeof value === 'object' && value !== null ? (value as { message?: unknown }).message : undefined;
  return typeof message === 'string' ? message : undefined;
}

/** `error.cause`, or undefined when reading it throws (a hostile getter or Proxy). */
function causeOf(error: Error): unknown {
  try {
    return error.cause;
  } catch {
    return undefined;
  }
}
