/** Environment → typed configuration, read and validated in one place. */
import { parseBackendPreference, type BackendPreference } from './engine/backend.js';

export interface Config {
  /** Interface the API listens on. @defaultValue `0.0.0.0` */
  readonly host: string;
  /** @defaultValue `8080` */
  readonly port: number;
  /** pino level. @defaultValue `info` */
  readonly logLevel: string;
  /** TensorFlow.js backend, or `auto` for the first that starts. @defaultValue `auto` */
  readonly backend: BackendPreference;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export class ConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConfigError';
    Object.setPrototypeOf(this, ConfigError.prototype);
  }
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const port = Number(env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`PORT must be a port number, got "${env.PORT}"`);
  const logLevel = env.LOG_LEVEL ?? 'info';
  if (!LOG_LEVELS.includes(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}, got "${logLevel}"`);
  let backend: BackendPreference;
  try {
    backend = parseBackendPreference(env.LOPT_BACKEND);
  } catch (err) {
    throw new ConfigError(`LOPT_BACKEND: ${(err as Error).message}`);
  }
  return { host: env.HOST ?? '0.0.0.0', port, logLevel, backend };
}
