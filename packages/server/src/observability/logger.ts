import pino from 'pino'

export type Logger = pino.Logger

/**
 * The server's structured log: JSON lines on stdout. Secrets never reach it — config is logged
 * redacted and request bodies are not logged at all.
 */
export function createLogger(level: string): Logger {
  return pino({
    level,
    base: undefined,
    redact: {
      paths: ['authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization'],
      censor: '***',
    },
  })
}
