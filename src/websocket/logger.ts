/**
 * Logging in pulsar-client's shape: `log(level, file, line, message)` in the
 * client config. Without one, warnings and errors go to stderr so that
 * reconnects and swallowed listener errors are never silent.
 */
export enum LogLevel {
  DEBUG = 0,
  INFO = 1,
  WARN = 2,
  ERROR = 3,
}

export type LogHandler = (level: LogLevel, file: string, line: number, message: string) => void;

export interface Logger {
  debug(message: string): void;
  info(message: string): void;
  warn(message: string): void;
  error(message: string): void;
}

const SOURCE = 'pulsar-keyscope/websocket';

export function createLogger(handler: LogHandler | undefined, minimumLevel: LogLevel = LogLevel.WARN): Logger {
  const write: LogHandler =
    handler ??
    ((level, _file, _line, message) => {
      process.stderr.write(`[${SOURCE}] ${LogLevel[level]} ${message}\n`);
    });
  const emit = (level: LogLevel, message: string): void => {
    if (level < minimumLevel) return;
    try {
      write(level, SOURCE, 0, message);
    } catch {
      // A failing log handler must not break message flow.
    }
  };
  return {
    debug: (message) => emit(LogLevel.DEBUG, message),
    info: (message) => emit(LogLevel.INFO, message),
    warn: (message) => emit(LogLevel.WARN, message),
    error: (message) => emit(LogLevel.ERROR, message),
  };
}
