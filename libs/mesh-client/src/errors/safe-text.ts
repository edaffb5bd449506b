/** Most of a peer's text that goes into a message or a log line. */
export const MAX_QUOTED_CHARS = 1024;

// C0 and C1 controls (CR, LF, ESC of ANSI sequences, NUL...), line/paragraph separators, bidi overrides.
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

const escape = (c: string): string => NAMED[c] ?? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`;

/**
 * Text from a peer (a server's status message, a header) made safe for a log line: control and
 * direction characters escaped, at most {@link MAX_QUOTED_CHARS} characters of it kept. Whoever
 * needs the raw text keeps it elsewhere (`MeshClientError.details`).
 */
export function safeText(text: string, max = MAX_QUOTED_CHARS): string {
  const cut = text.length > max ? text.slice(0, max) : text;
  const shown = cut.replace(UNSAFE, escape);
  return text.length > max ? `${shown}... (${String(text.length - max)} more characters)` : shown;
}
