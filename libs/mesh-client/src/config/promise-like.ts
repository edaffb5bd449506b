/**
 * Whether `value` is a thenable: what a hook, a request stream or an iterator's `next()` gave
 * back is awaited only then. A `then` getter that throws is the value's owner's: callers read it
 * inside their own guard. Shared by every layer, so it lives on the floor.
 */
export const isPromiseLike = <V = unknown>(value: unknown): value is PromiseLike<V> => typeof (value as PromiseLike<V> | null)?.then === 'function';
