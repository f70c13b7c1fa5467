import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };

/** One logger for the process: JSON, or human-readable when run in a terminal; `destination`: JSON lines there instead (tests read them). */
export function createLogger(level: string, destination?: { write(line: string): void }): Logger {
  const pretty = !destination && process.stdout.isTTY && !process.env.CI;
  const options: LoggerOptions<never> = {
    level,
    base: { pid: process.pid },
    // Secrets never reach the log, whatever object carries them.
    redact: {
      paths: [
        'authorization',
        '*.authorization',
        '*.headers.authorization',
        '*.headers.cookie',
        'token',
        '*.token',
        '*.connectionParams',
        'connectionParams',
        'payload.headers',
        '*.payload.headers',
        'flex.token',
        '*.flex.token',
      ],
      censor: '[redacted]',
    },
    // pg errors carry their client; keep what a reader needs.
    serializers: {
      err: (error: Error & { code?: string; detail?: string }) => ({
        type: error.name,
        message: error.message,
        code: error.code,
        detail: error.detail,
        stack: error.stack,
      }),
      error: (error: unknown) => (error instanceof Error ? { type: error.name, message: error.message } : error),
    },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  };
  return destination ? pino(options, destination) : pino(options);
}

/**
 * A child logger made on first use. pino serialises a child's bindings when it
 * is made, which costs more than a short job itself, and most jobs log nothing
 * at the configured level.
 */
export function lazyChild(parent: Logger, bindings: Record<string, unknown>): () => Logger {
  let child: Logger | undefined;
  return () => (child ??= parent.child(bindings));
}
