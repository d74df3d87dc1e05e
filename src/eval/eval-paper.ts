/**
 * `npm run eval:paper`: the paper's comparison (PT, LoPT-1, LoPT-2) and ablation, as a client of
 * the service's REST API, either one it starts for the purpose or one at --url. See USAGE.
 */
import { EvalUsageError, parseEvalOptions, REPO_DIR, USAGE, type EvalOptions } from './eval-options.js';
import { runEvaluation } from './evaluation.js';
import { startLocalService } from './local-service.js';
import { describeMachine } from './machine-info.js';
import { describeRequirements, unmetRequirements } from './requirements.js';
import { createServiceClient } from './service-client.js';

const log = (line: string) => process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);

interface Connection {
  readonly url: string;
  readonly apiKey: string;
  /** For the report. */
  readonly description: string;
  close(): Promise<void>;
}

async function connect(target: EvalOptions['service']): Promise<Connection> {
  if ('url' in target) return { ...target, description: `at ${target.url}`, close: async () => undefined };
  const local = await startLocalService({ repoDir: REPO_DIR, workers: target.workers });
  log(`started the service at ${local.url} with ${target.workers} workers; its log: ${local.logFile}`);
  return { ...local, description: `started by the command (\`src/server.ts\`, ${target.workers} worker processes)` };
}

async function main(args: readonly string[]): Promise<number> {
  const startedAt = new Date();
  let options;
  try {
    options = parseEvalOptions(args);
  } catch (err) {
    if (!(err instanceof EvalUsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS'))) throw err;
    process.stderr.write(`${(err as Error).message}\n\n${USAGE}\n`);
    return 2;
  }
  if (options === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  log(`profile ${options.profile.name}: ${options.profile.summary}`);
  const { requirements } = options.profile;
  if (requirements) {
    const machine = describeMachine(REPO_DIR);
    for (const line of describeRequirements(options.profile, requirements, machine)) log(line);
    const unmet = unmetRequirements(requirements, machine);
    if (unmet.length && !('url' in options.service)) {
      log(`refused: profile ${options.profile.name} needs ${unmet.join(' and ')}; run it on a larger machine, or against a service there with --url`);
      return 2;
    }
  }
  const service = await connect(options.service);
  const stop = async (signal: NodeJS.Signals) => {
    log(`${signal}: stopping`);
    await service.close();
    process.exit(130);
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const client = createServiceClient(service.url, service.apiKey);
    const { results, reportPath } = await runEvaluation(client, options, { repoDir: REPO_DIR, service: service.description, log, startedAt });
    const failed = results.filter((result) => result.status !== 'succeeded');
    log(`wrote ${reportPath}${failed.length ? `; ${failed.length} of ${results.length} runs did not succeed` : ''}`);
    return failed.length ? 1 : 0;
  } finally {
    await service.close();
  }
}

process.exitCode = await main(process.argv.slice(2));
