/**
 * A message's walk over a request's own keys: each key's value checked and copied into `out`
 * under its loaded name. Throws RequestProblem for the first key (in the request's key order)
 * whose value does not fit.
 */
export type Walk = (value: Record<string, unknown>, out: Record<string, unknown>, path: string, depth: number) => void;

/** The general way of one key (any field, alias, oneof member or unknown key): the oneof members met so far in, and out. */
export type KeyStep = (
  value: Record<string, unknown>,
  key: string,
  out: Record<string, unknown>,
  path: string,
  depth: number,
  oneofs: Map<string, string> | undefined,
) => Map<string, string> | undefined;

/** A field the compiled walk checks with code of its own: a scalar, not repeated, not a map, no oneof's member. */
export interface InlineField {
  readonly name: string;
  /** 'string' and 'bool' are tested inline; any other kind by `fits`. */
  readonly kind: string;
  readonly fits: (value: unknown) => boolean;
}

/**
 * Compiles a message type's walk, as protobufjs compiles its coders: one `case` per inline field,
 * whose property reads and writes V8 then sees with constant names (the general walk reads every
 * key through one shared, megamorphic path); every other key goes to `step`, the general way. It
 * walks the keys in the same order, reads each value once, and throws the same errors (`wrong(i,
 * path, value)` for inline field i). Undefined where the process allows no code from strings
 * (`--disallow-code-generation-from-strings`, an EvalError): the caller walks the general way.
 */
export function compileWalk(
  fields: readonly InlineField[],
  step: KeyStep,
  wrong: (i: number, path: string, value: unknown) => Error,
): Walk | undefined {
  const tests = fields.map((f) => f.fits);
  const cases = fields.map((f, i) => {
    const name = JSON.stringify(f.name);
    const test = f.kind === 'string' ? 'typeof v === "string"' : f.kind === 'bool' ? 'typeof v === "boolean"' : `fits${String(i)}(v)`;
    return `case ${name}: {
        const v = value[${name}];
        if (v === undefined) break;
        if (v === null || ${test}) { out[${name}] = v; break; }
        throw wrong(${String(i)}, path, v);
      }`;
  });
  const source = `"use strict";
    ${tests.map((_, i) => `const fits${String(i)} = tests[${String(i)}];`).join('\n')}
    return function walk(value, out, path, depth) {
      let oneofs;
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        switch (key) {
          ${cases.join('\n')}
          default:
            oneofs = step(value, key, out, path, depth, oneofs);
        }
      }
    };`;
  try {
    // the source holds nothing of a request: only the type's field names, each as a JSON string literal
    return new Function('tests', 'step', 'wrong', source)(tests, step, wrong) as Walk;
  } catch (error) {
    // only a refusal to compile at all; a source that does not compile is this file's bug, and says so
    if (error instanceof EvalError) return undefined;
    throw error;
  }
}
