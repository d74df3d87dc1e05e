/**
 * The service's main process: applies migrations, serves the API, and runs LOPT_WORKERS training
 * worker processes beside it (restarted if they crash). SIGTERM/SIGINT shut it all down gracefully.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildApp } from './api/app.js';
import { connectApiDeps } from './api/build-deps.js';
import { loadConfig } from './config.js';
import { applyMigrations } from './db/migrate.js';
import { createLogger } from './logger.js';
import { serveMetrics } from './metrics/metrics-server.js';

const WORKER_MODULE = fileURLToPath(new URL(`./worker/main${extname(fileURLToPath(import.meta.url))}`, import.meta.url));
const RESTART_DELAY_MS = 2000;

const config = loadConfig();
const logger = createLogger(config.logLevel);

const applied = await applyMigrations(config.databaseUrl, (message) => logger.info(message));
logger.info({ applied }, `database ready (${applied.length} migrations applied)`);

const { deps, close } = await connectApiDeps(config, logger);
const app = await buildApp(logger, deps);
await app.listen({ host: config.host, port: config.port });
if (config.metricsPort > 0) {
  await serveMetrics(deps.metrics, config.host, config.metricsPort, (err) => logger.warn({ err }, 'metrics could not be collected'));
  logger.info({ port: config.metricsPort }, 'metrics on GET /metrics');
}
deps.inference.ready().then(
  (backend) => logger.info({ backend }, `inference backend: ${backend.name}`),
  (err: unknown) => logger.error({ err }, 'inference backend failed to start'),
);

let stopping = false;
const workers = new Set<ChildProcess>();
/** Worker i's metrics port: LOPT_WORKER_METRICS_PORT + i, else LOPT_METRICS_PORT + 1 + i (none when that is 0). */
const workerMetricsPort = (i: number) =>
  config.workerMetricsPort !== undefined ? config.workerMetricsPort + i : config.metricsPort > 0 ? config.metricsPort + 1 + i : undefined;

function startWorker(i: number): void {
  const port = workerMetricsPort(i);
  const child = fork(WORKER_MODULE, { stdio: 'inherit', env: { ...process.env, ...(port === undefined ? {} : { LOPT_WORKER_METRICS_PORT: String(port) }) } });
  workers.add(child);
  child.on('exit', (code, signal) => {
    workers.delete(child);
    if (stopping) return;
    logger.error({ code, signal }, `worker exited; restarting in ${RESTART_DELAY_MS} ms`);
    setTimeout(() => startWorker(i), RESTART_DELAY_MS);
  });
}
for (let i = 0; i < config.workers; i++) startWorker(i);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, async () => {
    stopping = true;
    logger.info({ signal }, 'shutting down');
    const exited = [...workers].map((child) => new Promise((resolve) => child.once('exit', resolve)));
    for (const child of workers) child.kill('SIGTERM');
    await app.close();
    await Promise.all(exited);
    await close();
    process.exit(0);
  });
}
