/**
 * Runs `fn` with stack trace capture off (`Error.stackTraceLimit = 0`) and restores the limit
 * after, also when `fn` throws. For errors made on hot paths whose stack would only ever show this
 * library's and RxJS's frames: capturing it was most of the cost of a breaker rejection and about
 * a tenth of a call's CPU inside grpc-js (which records one per call) in the benchmarks.
 */
export function withoutStackTrace<T>(fn: () => T): T {
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 0;
  try {
    return fn();
  } finally {
    Error.stackTraceLimit = limit;
  }
}
