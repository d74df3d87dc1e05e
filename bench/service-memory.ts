/**
 * The whole service on one model, as a user runs it: a private instance (API with its inference
 * thread, and one worker process) serving only `--model`, a short LoPT-1 job on SST-2 to
 * `succeeded`, then predictions with its prompt. Reports how long each took and the peak resident
 * memory (VmHWM) of the API process and of the worker, which is what a deployment must plan for.
 *
 *   npm run bench:service-memory -- --model DIR [--steps 3] [--batch-size 16] [--rows 64]
 */
import { readFileSync } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import { startLocalService } from '../src/eval/local-service.js';
import { createServiceClient } from '../src/eval/service-client.js';
import { procStatusBytes } from '../test/helpers/process-probes.js';
import { DATASETS_DIR } from '../test/helpers/shared.js';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string' },
    steps: { type: 'string', default: '3' },
    'batch-size': { type: 'string', default: '16' },
    rows: { type: 'string', default: '64' },
  },
});
if (!args.model) {
  console.error('usage: --model DIR [--steps N] [--batch-size N] [--rows N]');
  process.exit(2);
}
const MODEL_ID = 'bench-model';
process.env.LOPT_MODELS = `${MODEL_ID}=${resolve(args.model)}`;

/** The processes whose parent is `pid` and whose command line mentions `script`. */
async function childrenOf(pid: number, script: string): Promise<number[]> {
  const pids = (await readdir('/proc')).filter((name) => /^\d+$/.test(name)).map(Number);
  const children: number[] = [];
  for (const child of pids) {
    const stat = await readFile(`/proc/${child}/stat`, 'utf8').catch(() => '');
    const command = await readFile(`/proc/${child}/cmdline`, 'utf8').catch(() => '');
    if (Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid && command.includes(script)) children.push(child);
  }
  return children;
}

const rows = readFileSync(join(DATASETS_DIR, 'sst2', 'train.tsv'), 'utf8').split('\n');
const sample = [rows[0]!, ...rows.slice(1, 1 + Number(args.rows))].join('\n');
const started = Date.now();
const seconds = (since: number) => ((Date.now() - since) / 1000).toFixed(1);
const service = await startLocalService({ repoDir: resolve(import.meta.dirname, '..'), workers: 1 });
try {
  console.log(`service ready in ${seconds(started)} s (${service.logFile})`);
  const client = createServiceClient(service.url, service.apiKey);
  const dataset = await client.uploadDataset('sst2-sample', 'sst2', sample);
  const submitted = Date.now();
  const job = await client.submitJob(
    {
      model: MODEL_ID, datasetId: dataset.id, task: 'sst2', method: 'lopt1', n: 20, r: 4, validationFraction: 0.25,
      hyperparameters: { maxSteps: Number(args.steps), batchSize: Number(args['batch-size']) },
    } as unknown as Parameters<typeof client.submitJob>[0],
    `bench-${Date.now()}`,
  );
  let state = await client.job(job.id);
  while (state.status === 'queued' || state.status === 'running') {
    await sleep(1000);
    state = await client.job(job.id);
  }
  console.log(`job ${state.status} in ${seconds(submitted)} s${state.error ? `: ${state.error.code} ${state.error.message}` : ''}`);
  if (state.status !== 'succeeded') process.exitCode = 1;
  const { promptId } = state as unknown as { promptId: string | null };
  if (promptId) {
    const asked = Date.now();
    const response = await fetch(new URL(`/v1/prompts/${promptId}/predict`, service.url), {
      method: 'POST',
      headers: { authorization: `Bearer ${service.apiKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ texts: ['a gripping, beautifully made film', 'dull and far too long', 'it was fine', 'I laughed all the way through'] }),
    });
    const answer = (await response.json()) as { predictions?: Array<{ label: string }> };
    console.log(`predict: HTTP ${response.status} in ${seconds(asked)} s (first call loads the model): ${JSON.stringify(answer.predictions?.map((p) => p.label) ?? answer)}`);
    if (!response.ok) process.exitCode = 1;
  }
  const [server] = await childrenOf(process.pid, 'src/server.ts');
  if (!server) throw new Error("the service's process was not found among this process's children");
  const mib = (pid: number, field: 'VmRSS' | 'VmHWM') => (procStatusBytes(pid, field) / 2 ** 20).toFixed(0);
  console.log(`API process (with its inference thread): peak ${mib(server, 'VmHWM')} MiB resident, now ${mib(server, 'VmRSS')} MiB`);
  for (const worker of await childrenOf(server, 'worker')) {
    console.log(`worker process ${worker}: peak ${mib(worker, 'VmHWM')} MiB resident, now ${mib(worker, 'VmRSS')} MiB`);
  }
} finally {
  await service.close();
}
