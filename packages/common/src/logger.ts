import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** Levels pino accepts; validated by config readers with envEnum. */
export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * One JSON logger per process. Field names are the same everywhere: `reqId`, `clientId`, `orderId`,
 * `ibCode`, `component`. Secrets are redacted by path so a stray header dump never leaks a key.
 */
export function createLogger(name: string, level: LogLevel = 'info', options: LoggerOptions = {}): Logger {
  return pino({
    name,
    level,
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    redact: {
      paths: [
        'req.headers.authorization',
        'headers.authorization',
        'authorization',
        'apiKey',
        '*.apiKey',
        'password',
        '*.password',
      ],
      censor: '[redacted]',
    },
    ...options,
  });
}

/**
 * Logs the process contract's "listening" line (`msg: "listening"` with `port`, `host`, `url`). It is written
 * at info even when the configured level is higher, because supervisors read it to learn the bound port.
 */
export function logListening(
  logger: Logger,
  fields: { port: number; host: string; url: string } & Record<string, unknown>,
): void {
  const out = logger.isLevelEnabled('info') ? logger : logger.child({}, { level: 'info' });
  out.info(fields, 'listening');
}
