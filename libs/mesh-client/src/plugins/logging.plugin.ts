import { Logger, type LoggerService } from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';
import { Observable, type Subscriber } from 'rxjs';
import type { MeshErrorCategory } from '../errors/error-category.js';
import { isMeshClientError } from '../errors/mesh-client.error.js';
import { describeThrown } from '../errors/describe-thrown.js';
import { safeText } from '../errors/safe-text.js';
import type { MeshCall, MeshCallHandler, MeshClientPlugin } from '../config/mesh-plugin.interface.js';
import { watchUnawaited } from '../config/promise-like.js';

/** A level of Nest's Logger, or 'off' for no line. */
export type LoggingLevel = 'debug' | 'verbose' | 'log' | 'warn' | 'error' | 'off';

/** What a call's line is logged by: its error's category, or 'ok', 'slow' (a success past slowMs), 'cancelled' (the caller left). */
export type LoggingOutcome = MeshErrorCategory | 'ok' | 'slow';

/**
 * Default levels: what a caller expects as an answer (not found, conflict, its own invalid
 * request), successes and cancellations at debug; what says the callee or the mesh is unwell at warn.
 */
export const LOGGING_LEVELS: Readonly<Record<LoggingOutcome, LoggingLevel>> = Object.freeze({
  ok: 'debug',
  slow: 'warn',
  cancelled: 'debug',
  'not-found': 'debug',
  conflict: 'debug',
  'invalid-request': 'debug',
  unavailable: 'warn',
  timeout: 'warn',
  'circuit-open': 'warn',
  unauthenticated: 'warn',
  'permission-denied': 'warn',
  'resource-exhausted': 'warn',
  unimplemented: 'warn',
  internal: 'warn',
  tls: 'warn',
  unknown: 'warn',
});

/** How a LoggingPlugin writes. */
export interface LoggingPluginOptions {
  /** A successful call slower than this is logged at the 'slow' level. Default 1000. */
  slowMs?: number;
  /** Levels by outcome, over LOGGING_LEVELS (e.g. `{ 'not-found': 'warn', ok: 'off' }`). */
  levels?: Partial<Record<LoggingOutcome, LoggingLevel>>;
  /** Metadata keys whose values may be logged; every other value is '[redacted]'. Default ['x-request-id']. */
  safeMetadata?: string[];
  /** Where lines go. Default Nest's Logger with the context 'MeshClient'. */
  logger?: LoggerService;
  /** Plugin name. Default 'logging'. */
  name?: string;
}

/**
 * One line per call through Nest's Logger: client, method, final code, attempts, duration and the
 * call's metadata keys (values redacted unless listed as safe), at the level of its outcome
 * (LOGGING_LEVELS, changed by `levels`): an answer a caller expects (NOT_FOUND, ALREADY_EXISTS,
 * INVALID_ARGUMENT ...) is no warning; a failure of the callee or the mesh is. A call its caller
 * left is logged as CANCELLED.
 *
 * @example
 * MeshClientModule.forRoot({ plugins: [new LoggingPlugin({ slowMs: 500 })], clients })
 */
export class LoggingPlugin implements MeshClientPlugin {
  /** `options.name`, or the plugin's default name. */
  readonly name: string;
  private readonly slowMs: number;
  private readonly safe: ReadonlySet<string>;
  private readonly logger: LoggerService;
  private readonly levels: Readonly<Record<LoggingOutcome, LoggingLevel>>;

  /** See `LoggingPluginOptions` (docs/reference/options.md). */
  constructor(options: LoggingPluginOptions = {}) {
    this.levels = { ...LOGGING_LEVELS, ...options.levels };
    this.name = options.name ?? 'logging';
    this.slowMs = options.slowMs ?? 1000;
    this.safe = new Set(options.safeMetadata ?? ['x-request-id']);
    this.logger = options.logger ?? new Logger('MeshClient');
  }

  intercept(call: MeshCall, next: MeshCallHandler): Observable<unknown> {
    return new Observable((subscriber: Subscriber<unknown>) => {
      const started = performance.now();
      let ended = false;
      const end = (error: unknown): void => {
        ended = true;
        this.write(call, error, performance.now() - started);
      };
      const inner = next.handle(call).subscribe({
        next: (value) => subscriber.next(value),
        error: (error: unknown) => {
          end(error);
          subscriber.error(error);
        },
        complete: () => {
          end(undefined);
          subscriber.complete();
        },
      });
      return () => {
        inner.unsubscribe();
        if (!ended) this.write(call, 'cancelled', performance.now() - started);
      };
    });
  }

  private write(call: MeshCall, error: unknown, ms: number): void {
    const { client, method } = call.method;
    const code = error === undefined ? 'OK' : error === 'cancelled' ? 'CANCELLED' : isMeshClientError(error) ? error.codeName : 'UNKNOWN';
    const outcome: LoggingOutcome =
      error === undefined
        ? ms > this.slowMs
          ? 'slow'
          : 'ok'
        : error === 'cancelled'
          ? 'cancelled'
          : isMeshClientError(error)
            ? error.category
            : 'unknown';
    const level = this.levels[outcome];
    if (level === 'off') return;
    let line = `${client} ${method} ${code} attempts=${String(call.attempts ?? 0)} ${ms.toFixed(1)}ms${this.metadataOf(call.metadata)}`;
    if (outcome === 'slow') line += ` (slower than ${String(this.slowMs)}ms)`;
    else if (error !== undefined && error !== 'cancelled')
      line += `: ${isMeshClientError(error) ? error.message : safeText(describeThrown(error), 300)}`;
    try {
      const write = this.logger[level];
      // an async logger's rejected Promise is watched too, not left to end the process
      watchUnawaited(write ? write.call(this.logger, line) : this.logger.log(line), () => undefined);
    } catch {
      // a logger that fails loses its line; the call it describes goes on, and nothing reaches RxJS
    }
  }

  private metadataOf(metadata: Metadata): string {
    const entries = Object.entries(metadata.getMap()).map(
      ([key, value]) => `${key}=${this.safe.has(key) ? safeText(String(value), 128) : '[redacted]'}`,
    );
    return entries.length > 0 ? ` metadata{${entries.join(' ')}}` : '';
  }
}
