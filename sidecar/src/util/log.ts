/**
 * The sidecar's logger: one line per entry on stderr (or appended to `--log-file`), never stdout
 * (stdout carries only the ready line). Callers must not pass secrets or the auth token.
 */
import { createWriteStream, type WriteStream } from 'node:fs';

export type LogLevel = 'error' | 'warn' | 'info' | 'debug';
export const LOG_LEVELS: readonly LogLevel[] = ['error', 'warn', 'info', 'debug'];
const RANK: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  debug(message: string): void;
  /** True when `level` would be written (to skip building expensive messages). */
  enabled(level: LogLevel): boolean;
  /** Flushes and closes a log file (no-op for stderr). */
  close(): Promise<void>;
}

export interface LoggerOptions {
  level?: LogLevel;
  /** Append to this file instead of stderr. */
  file?: string;
  /** Also receives every written entry (e.g. to forward warnings to RPC clients). */
  onEntry?: (level: LogLevel, message: string) => void;
}

/** True for the names accepted by `--log-level`. */
export function isLogLevel(value: string): value is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(value);
}

/** A logger writing `<ISO time> <level> <message>` lines. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const max = RANK[options.level ?? 'info'];
  let stream: WriteStream | null = null;
  if (options.file) {
    stream = createWriteStream(options.file, { flags: 'a', mode: 0o600 });
    stream.on('error', (err) => {
      process.stderr.write(`log file ${options.file}: ${err.message}; logging to stderr\n`);
      stream = null;
    });
  }
  const write = (level: LogLevel, message: string): void => {
    if (RANK[level] > max) return;
    const line = `${new Date().toISOString()} ${level} ${message.replace(/[\r\n]+/g, ' ')}\n`;
    if (stream) stream.write(line);
    else process.stderr.write(line);
    options.onEntry?.(level, message);
  };
  return {
    error: (m) => write('error', m),
    warn: (m) => write('warn', m),
    info: (m) => write('info', m),
    debug: (m) => write('debug', m),
    enabled: (level) => RANK[level] <= max,
    close: () => new Promise<void>((resolve) => {
      const s = stream;
      stream = null;
      if (!s) return resolve();
      s.end(() => resolve());
    }),
  };
}

/** A logger that drops everything (tests, benches). */
export const silentLogger: Logger = {
  error: () => undefined,
  warn: () => undefined,
  info: () => undefined,
  debug: () => undefined,
  enabled: () => false,
  close: async () => undefined,
};
