/** Starts the API: configuration, TensorFlow.js backend, HTTP listener, graceful shutdown. */
import { buildApp } from './api/app.js';
import { loadConfig } from './config.js';
import { initBackend } from './engine/backend.js';
import { createLogger } from './logger.js';

const config = loadConfig();
const logger = createLogger(config.logLevel);

const backend = await initBackend(config.backend);
logger.info({ backend }, `TensorFlow.js backend: ${backend.name}`);

const app = await buildApp(logger);
await app.listen({ host: config.host, port: config.port });

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    logger.info({ signal }, 'shutting down');
    app.close().then(
      () => process.exit(0),
      (err: unknown) => {
        logger.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
