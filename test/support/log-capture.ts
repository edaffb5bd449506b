import { ConsoleLogger, Logger, type LoggerService } from '@nestjs/common';

/** Collects every Nest log line (all levels) while installed, for assertions and secret searches. */
export class LogCapture implements LoggerService {
  readonly lines: string[] = [];

  private push(level: string, message: unknown, rest: unknown[]): void {
    this.lines.push(`${level} ${[message, ...rest].map((m) => (m instanceof Error ? `${m.message}\n${m.stack ?? ''}` : String(m))).join(' ')}`);
  }
  log(message: unknown, ...rest: unknown[]): void {
    this.push('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.push('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.push('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.push('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.push('verbose', message, rest);
  }

  /** The installed capture, which test apps built by createTestApp log to. */
  static current: LogCapture | undefined;

  /** Routes Nest's Logger here; returns the capture. */
  static install(): LogCapture {
    const capture = new LogCapture();
    LogCapture.current = capture;
    Logger.overrideLogger(capture);
    return capture;
  }

  /** Back to Nest's console logger. */
  static uninstall(): void {
    LogCapture.current = undefined;
    Logger.overrideLogger(new ConsoleLogger());
  }
}
