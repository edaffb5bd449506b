import type { FieldNaming } from '../config/policies.js';
import type { FieldShape, MessageShape, ShapeIndex, ValueKind } from './message-shapes.js';
import { describeThrown } from '../errors/describe-thrown.js';
import { describeValue, longSnapshot, scalarTest } from './value-rules.js';
import { aliasesOf, EXPECTED, RequestProblem, unknownField, wrong } from './request-problem.js';
import { compileWalk, type KeyStep, type Walk } from './compiled-walk.js';

const MAX_DEPTH = 64;

/** An object that is a message: a plain object or a class instance, never a built-in such as a Date or a Map. */
function isMessageObject(value: object): boolean {
  if (Array.isArray(value)) return false;
  // a plain object (the usual request) is none of the built-ins below: their prototypes are their own
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto === Object.prototype || proto === null) return true;
  if (value instanceof Uint8Array || value instanceof Date || value instanceof Map || value instanceof Set) return false;
  return !(value instanceof RegExp || value instanceof Promise || value instanceof WeakMap || value instanceof WeakSet || value instanceof Error);
}

/** One field as a request may give it: its loaded name, its shape, and the test of a scalar value. */
interface FieldPlan {
  readonly name: string;
  readonly field: FieldShape;
  /** What each value is: the field itself, or a map field's value. */
  readonly value: FieldShape;
  readonly fits: (value: unknown) => boolean;
}

/**
 * Where a value of `f` is, for an error: `path` is its message's (a map field's own, for its
 * values); `at` the element's index in a list, or the value's key in a map.
 */
function pathOf(f: FieldPlan, path: string, at: number | string | undefined): string {
  const suffix = at === undefined ? '' : typeof at === 'number' ? `[${String(at)}]` : `[${JSON.stringify(at).slice(0, 40)}]`;
  return f.value === f.field ? `${path}.${f.name}${suffix}` : `${path}${suffix}`;
}

/**
 * One message type's check, made once per type: every key a request may use (the loaded names,
 * and their aliases under `fieldNames: 'either'`) to its field's plan, the scalar tests chosen.
 */
interface MessagePlan {
  readonly shape: MessageShape;
  readonly keys: ReadonlyMap<string, FieldPlan>;
  /** Its keys' walk: compiled at its first request (see compiled-walk.ts), or the general one. */
  walk: Walk;
}

/**
 * Checks a request against its message type before anything is sent: every key must be a field
 * (at any depth), every value of the field's type and range, every message an object that holds
 * its fields itself (protobufjs would also read a field from the prototype chain, silently drop an
 * unknown key such as `delay_ms` where the field is `delayMs`, coerce `'abc'` to 0, wrap an int64
 * past its range, and send a Date or a Map as an empty message). A request that throws while it is
 * read (a getter, a Proxy) is refused the same way.
 *
 * Each message type is planned once (its keys, their scalar tests, and its walk over a request's
 * keys, compiled with code of its own for plain scalar fields), so a call only runs the tests; the
 * path of a field is spelt out only when it goes into an error.
 */
export class RequestCheck {
  private readonly plans = new Map<MessageShape, MessagePlan>();
  private readonly root: MessagePlan;
  /** Messages, list elements and map entries met so far by the check running now. */
  private met = 0;

  /**
   * `maxMessageBytes`: each message, list element and map entry a request holds takes at least a
   * byte on the wire, so a request holding more of them cannot be sent; the check stops there. An
   * object held in several places counts (and is encoded) every time: without this bound a request
   * sharing its children at every level (a DAG, 2^depth paths) would hold the event loop for hours.
   */
  constructor(
    private readonly index: ShapeIndex,
    shape: MessageShape,
    private readonly naming: FieldNaming,
    private readonly maxMessageBytes: number,
    /** Walk every message the general way, compiling nothing (the tests hold the two walks to the same outcomes). */
    private readonly general = false,
  ) {
    this.root = this.planOf(shape);
  }

  /** The request to serialize: a copy of what was checked, under the loaded field names; throws RequestProblem. */
  check(request: unknown): unknown {
    if (request === undefined) return {};
    const outer = this.met; // a getter of the request may itself make a call of this method
    this.met = 0;
    try {
      if (typeof request !== 'object' || request === null || !isMessageObject(request)) {
        throw new RequestProblem(`the request must be an object (a ${this.root.shape.name} message), got ${describeValue(request)}`);
      }
      return this.message(request as Record<string, unknown>, this.root, 'request', 0);
    } catch (error) {
      if (error instanceof RequestProblem) throw error;
      throw new RequestProblem(`the request could not be read: ${describeThrown(error)}`);
    } finally {
      this.met = outer;
    }
  }

  /** Counts `n` more messages, elements or entries; past `maxMessageBytes` the request cannot be sent. */
  private meet(n: number): void {
    this.met += n;
    if (this.met <= this.maxMessageBytes) return;
    throw new RequestProblem(
      `the request holds more than ${String(this.maxMessageBytes)} messages, list elements and map entries (an object held in several places counts each time), over maxMessageBytes=${String(this.maxMessageBytes)}: it cannot be sent`,
    );
  }

  /**
   * A copy of `value` holding what was checked: each field read once (a getter cannot answer the
   * check one value and the encoder another), under its proto-loaded name.
   */
  private message(value: Record<string, unknown>, plan: MessagePlan, path: string, depth: number): Record<string, unknown> {
    if (depth > MAX_DEPTH) throw new RequestProblem(`${path} is nested deeper than ${String(MAX_DEPTH)} levels (a cycle?)`);
    this.meet(1);
    const proto = Object.getPrototypeOf(value) as unknown;
    if (proto !== Object.prototype && proto !== null) ownFieldsOnly(value, plan.shape, path);
    const out: Record<string, unknown> = {};
    plan.walk(value, out, path, depth);
    return out;
  }

  /**
   * One own key of a message, the general way (a compiled walk has code of its own only for plain
   * scalar fields): its value read once, checked and copied into `out`. `oneofs` holds the member
   * set of each oneof met so far; returns it.
   */
  private key(
    value: Record<string, unknown>,
    key: string,
    out: Record<string, unknown>,
    plan: MessagePlan,
    path: string,
    depth: number,
    oneofs: Map<string, string> | undefined,
  ): Map<string, string> | undefined {
    const v = value[key];
    if (v === undefined) return oneofs;
    const f = plan.keys.get(key);
    if (f === undefined) {
      if (plan.shape.oneofs.has(key)) return oneofs;
      throw unknownField(key, plan.shape, path);
    }
    const oneof = f.field.oneof;
    if (oneof !== undefined && v !== null) {
      const other = (oneofs ??= new Map()).get(oneof);
      // both would go on the wire, and the server would keep the last
      if (other !== undefined && other !== f.name) {
        throw new RequestProblem(`${path}.${other} and ${path}.${f.name} are both set, but they are members of oneof '${oneof}': set one`);
      }
      oneofs.set(oneof, f.name);
    }
    out[f.name] = v === null ? v : this.field(v, f, path, depth);
    return oneofs;
  }

  /** A field's value (not null); `path` is its message's. */
  private field(value: unknown, f: FieldPlan, path: string, depth: number): unknown {
    const field = f.field;
    if (field.mapValue) {
      if (typeof value !== 'object' || !isMessageObject(value as object)) throw wrong(`${path}.${f.name}`, 'a plain object (a map field)', value);
      return this.entries(value as Record<string, unknown>, f, `${path}.${f.name}`, depth);
    }
    if (field.repeated) {
      if (!Array.isArray(value)) throw wrong(`${path}.${f.name}`, 'an array (a repeated field)', value);
      const length = value.length; // read once: the bound, the copy and the walk agree
      this.meet(length);
      const out = new Array<unknown>(length);
      for (let i = 0; i < length; i++) out[i] = this.single(value[i], f, path, i, depth);
      return out;
    }
    return this.single(value, f, path, undefined, depth);
  }

  private entries(value: Record<string, unknown>, f: FieldPlan, path: string, depth: number): unknown {
    const out: Record<string, unknown> = {};
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      this.meet(1);
      // defined as a data property: a key '__proto__' stays an own key, as proto-loader keeps it
      Object.defineProperty(out, key, {
        value: this.single(value[key], f, path, key, depth),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return out;
  }

  /** One value of the field `f` (the field's own, an element of a list, or a map's value); see `pathOf`. */
  private single(value: unknown, f: FieldPlan, path: string, at: number | string | undefined, depth: number): unknown {
    const kind = f.value.kind;
    if (kind === 'message') {
      if (value === null || value === undefined) return value;
      if (typeof value !== 'object' || !isMessageObject(value))
        throw wrong(pathOf(f, path, at), `an object (a ${f.value.type ?? 'message'} message)`, value);
      const shape = f.value.type === undefined ? undefined : this.index.messages.get(f.value.type);
      return shape ? this.message(value as Record<string, unknown>, this.planOf(shape), pathOf(f, path, at), depth + 1) : value;
    }
    if ((kind === 'int64' || kind === 'uint64') && typeof value === 'object' && value !== null) {
      const long = longSnapshot(value);
      if (long === undefined) throw wrong(pathOf(f, path, at), EXPECTED[kind], value);
      return long;
    }
    if (!f.fits(value)) throw wrong(pathOf(f, path, at), EXPECTED[kind], value);
    return value;
  }

  private planOf(shape: MessageShape): MessagePlan {
    let plan = this.plans.get(shape);
    if (plan) return plan;
    const keys = new Map<string, FieldPlan>();
    for (const [name, field] of shape.fields) {
      const value = field.mapValue ?? field;
      keys.set(name, {
        name,
        field,
        value,
        fits: scalarTest(value.kind, value.kind === 'enum' ? this.index.enums.get(value.type ?? '') : undefined),
      });
    }
    // an alias that is also a oneof's name stays the oneof's (a response's oneof key, sent back, is left out)
    if (this.naming === 'either') for (const [alias, name] of aliasesOf(shape)) if (!shape.oneofs.has(alias)) keys.set(alias, keys.get(name)!);
    // compiled at its first request, not here: a client plans every method's request type when it is made
    const planned: MessagePlan = {
      shape,
      keys,
      walk: (value, out, path, depth) => {
        planned.walk = this.walkOf(planned);
        planned.walk(value, out, path, depth);
      },
    };
    this.plans.set(shape, (plan = planned));
    return plan;
  }

  /**
   * The walk of a message type's keys, made at the type's first request: compiled, with code of
   * its own for its plain scalar fields (see compiled-walk.ts), unless the check was made `general`
   * or the process allows no code from strings; every other key, and every key of the general
   * walk, goes through `key`.
   */
  private walkOf(plan: MessagePlan): Walk {
    const step: KeyStep = (value, key, out, path, depth, oneofs) => this.key(value, key, out, plan, path, depth, oneofs);
    const fields = [...plan.keys]
      .filter(([key, f]) => key === f.name && key !== '__proto__' && isInline(f))
      .map(([, f]) => ({ name: f.name, kind: f.field.kind, fits: f.fits }));
    const wrongAt = (i: number, path: string, value: unknown): Error => wrong(`${path}.${fields[i]!.name}`, EXPECTED[fields[i]!.kind], value);
    const compiled = this.general || fields.length === 0 ? undefined : compileWalk(fields, step, wrongAt);
    return (
      compiled ??
      ((value, out, path, depth) => {
        let oneofs: Map<string, string> | undefined;
        for (const key in value) if (Object.hasOwn(value, key)) oneofs = step(value, key, out, path, depth, oneofs);
      })
    );
  }
}

/** Kinds a compiled walk checks with code of its own (64-bit integers may be Longs, read the general way). */
const INLINE_KINDS: ReadonlySet<ValueKind> = new Set(['string', 'bool', 'bytes', 'float', 'int32', 'uint32', 'enum']);

/** A plain scalar field: not repeated, not a map, no oneof's member, of an inline kind. */
function isInline(f: FieldPlan): boolean {
  return f.value === f.field && !f.field.repeated && f.field.oneof === undefined && INLINE_KINDS.has(f.field.kind);
}

/** A class instance (or an object made from a prototype) must hold its fields itself. */
function ownFieldsOnly(value: Record<string, unknown>, shape: MessageShape, path: string): void {
  for (const name of shape.fields.keys()) {
    if (!Object.hasOwn(value, name) && value[name] !== undefined) {
      throw new RequestProblem(`${path}.${name} comes from the prototype of ${path}, not from ${path} itself: give it as an own property`);
    }
  }
}
