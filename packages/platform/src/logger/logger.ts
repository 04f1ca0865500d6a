import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * The one logger of the project: structured JSON lines on stdout.
 * Each service and module takes a child (`logger.child({ service })`).
 * Secrets never reach a log line: the redact list covers the usual carriers.
 */
export function createLogger(options: { name: string; level?: string }): Logger {
  return pino({
    name: options.name,
    level: options.level ?? process.env.LOG_LEVEL ?? 'info',
    redact: {
      paths: [
        'password',
        '*.password',
        'accessToken',
        '*.accessToken',
        'refreshToken',
        '*.refreshToken',
        'authorization',
        '*.authorization',
        'headers.authorization',
      ],
      censor: '[redacted]',
    },
  });
}
