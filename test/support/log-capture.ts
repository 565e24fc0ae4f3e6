/**
 * Captures what the library logs, through Nest's own `Logger`: every
 * `new Logger(context)` in lib/ routes to the static instance, which this
 * replaces for the life of the capture. With TEST_LOGS set, lines are also
 * printed.
 */
import { Logger, type LoggerService, type LogLevel } from '@nestjs/common';

export interface LogEntry {
  readonly level: LogLevel;
  readonly context: string | undefined;
  readonly message: string;
}

const ALL_LEVELS: LogLevel[] = ['log', 'error', 'warn', 'debug', 'verbose', 'fatal'];

export class LogCapture implements LoggerService {
  readonly entries: LogEntry[] = [];
  private readonly previousInstance: unknown;
  private readonly previousLevels: LogLevel[] | undefined;
  private restored = false;

  private constructor() {
    const statics = Logger as unknown as { staticInstanceRef: unknown; logLevels: LogLevel[] | undefined };
    this.previousInstance = statics.staticInstanceRef;
    this.previousLevels = statics.logLevels;
  }

  /** Starts capturing every level, until `restore()`. */
  static install(): LogCapture {
    const capture = new LogCapture();
    Logger.overrideLogger(capture);
    Logger.overrideLogger(ALL_LEVELS);
    return capture;
  }

  restore(): void {
    if (this.restored) return;
    this.restored = true;
    Logger.overrideLogger(this.previousInstance as LoggerService);
    if (this.previousLevels !== undefined) Logger.overrideLogger(this.previousLevels);
  }

  /** Entries at `level` whose message matches. */
  find(level: LogLevel | null, pattern: RegExp | string, context?: string): LogEntry[] {
    return this.entries.filter(
      (entry) =>
        (level === null || entry.level === level) &&
        (context === undefined || entry.context === context) &&
        (typeof pattern === 'string' ? entry.message.includes(pattern) : pattern.test(entry.message)),
    );
  }

  /** Entries logged after `mark` (an index from `this.entries.length`). */
  since(mark: number): LogEntry[] {
    return this.entries.slice(mark);
  }

  log(message: unknown, ...rest: unknown[]): void {
    this.add('log', message, rest);
  }
  error(message: unknown, ...rest: unknown[]): void {
    this.add('error', message, rest);
  }
  warn(message: unknown, ...rest: unknown[]): void {
    this.add('warn', message, rest);
  }
  debug(message: unknown, ...rest: unknown[]): void {
    this.add('debug', message, rest);
  }
  verbose(message: unknown, ...rest: unknown[]): void {
    this.add('verbose', message, rest);
  }
  fatal(message: unknown, ...rest: unknown[]): void {
    this.add('fatal', message, rest);
  }

  private add(level: LogLevel, message: unknown, rest: unknown[]): void {
    // Nest's Logger appends its context as the last optional parameter.
    const last = rest[rest.length - 1];
    const context = typeof last === 'string' ? last : undefined;
    const text = typeof message === 'string' ? message : String((message as Error)?.stack ?? message);
    this.entries.push({ level, context, message: text });
    if (process.env.TEST_LOGS) console.log(`[${level}] ${context ?? ''} ${text}`);
  }
}
