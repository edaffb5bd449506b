import { Logger, type LoggerService } from '@nestjs/common';
import type { Metadata } from '@grpc/grpc-js';
import { Observable, type Subscriber } from 'rxjs';
import { isMeshClientError } from '../errors/mesh-client.error.js';
import { safeText } from '../errors/safe-text.js';
import type { MeshCall, MeshCallHandler, MeshClientPlugin } from '../config/mesh-plugin.interface.js';

/** How a LoggingPlugin writes. */
export interface LoggingPluginOptions {
  /** A successful call slower than this is logged at warn. Default 1000. */
  slowMs?: number;
  /** Metadata keys whose values may be logged; every other value is '[redacted]'. Default ['x-request-id']. */
  safeMetadata?: string[];
  /** Where lines go. Default Nest's Logger with the context 'MeshClient'. */
  logger?: LoggerService;
  /** Plugin name. Default 'logging'. */
  name?: string;
}

/**
 * One line per call through Nest's Logger: client, method, final code, attempts, duration and the
 * call's metadata keys (values redacted unless listed as safe). Failures and calls slower than
 * `slowMs` at warn, the rest at debug; a call its caller left is logged as CANCELLED at debug.
 *
 * @example
 * MeshClientModule.forRoot({ plugins: [new LoggingPlugin({ slowMs: 500 })], clients })
 */
export class LoggingPlugin implements MeshClientPlugin {
  readonly name: string;
  private readonly slowMs: number;
  private readonly safe: ReadonlySet<string>;
  private readonly logger: LoggerService;

  constructor(options: LoggingPluginOptions = {}) {
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
    const line = `${client} ${method} ${code} attempts=${String(call.attempts)} ${ms.toFixed(1)}ms${this.metadataOf(call.metadata)}`;
    if (error !== undefined && error !== 'cancelled') {
      const why = isMeshClientError(error) ? error.message : safeText(String(error), 300);
      this.logger.warn(`${line}: ${why}`);
    } else if (error === undefined && ms > this.slowMs) {
      this.logger.warn(`${line} (slower than ${String(this.slowMs)}ms)`);
    } else {
      this.logger.debug?.(line);
    }
  }

  private metadataOf(metadata: Metadata): string {
    const entries = Object.entries(metadata.getMap()).map(
      ([key, value]) => `${key}=${this.safe.has(key) ? safeText(String(value), 128) : '[redacted]'}`,
    );
    return entries.length > 0 ? ` metadata{${entries.join(' ')}}` : '';
  }
}
