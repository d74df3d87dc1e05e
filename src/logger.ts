import { createRequire } from 'node:module';
import { pino, type Logger } from 'pino';

export type { Logger };

/** pino-pretty is a development dependency: a production install has none, and logs JSON. */
function prettyAvailable(): boolean {
  try {
    createRequire(import.meta.url).resolve('pino-pretty');
    return true;
  } catch {
    return false;
  }
}

/**
 * JSON lines on stdout, what log collectors read; readable lines instead (pino-pretty) when
 * stdout is a terminal and pino-pretty is installed.
 */
export function createLogger(level: string): Logger {
  const options = { level, base: { service: 'lopt-service' } };
  if (process.stdout.isTTY && prettyAvailable()) return pino(options, pino.transport({ target: 'pino-pretty', options: { colorize: true, ignore: 'service,hostname' } }));
  return pino(options);
}
