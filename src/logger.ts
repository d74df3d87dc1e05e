import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout: what log collectors read. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { service: 'lopt-service' } });
}
