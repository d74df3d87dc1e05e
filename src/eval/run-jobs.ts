/**
 * Submits every run of a plan as a job, polls the jobs until all have ended, and collects what the
 * service measured: accuracy on the evaluation set (one evaluation, of the final prompt), the
 * trainable-parameter count, the wall-clock time and the training-loss curve.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { EvalTaskId } from './profiles.js';
import type { RunSpec } from './run-plan.js';
import type { Job, JobRequest, JobStatus, ServiceClient } from './service-client.js';

export interface UploadedData {
  readonly trainId: string;
  readonly trainRows: number;
  /** Carved from the training file: what tuning runs are scored on. */
  readonly validationId: string;
  /** What final runs are scored on. */
  readonly evalId: string;
}

export interface RunResult {
  readonly run: RunSpec;
  readonly jobId: string;
  readonly status: JobStatus;
  /** 0 to 1, on the rows the run is scored on (validation rows when tuning, evaluation rows after); null unless succeeded. */
  readonly accuracy: number | null;
  /** The loss on those rows; null unless succeeded. */
  readonly evalLoss: number | null;
  readonly macroF1: number | null;
  readonly trainableParameters: number | null;
  /** From the job's start to its end. */
  readonly wallSeconds: number | null;
  readonly loss: ReadonlyArray<{ step: number; loss: number }>;
  readonly error: string | null;
}

const ENDED: readonly JobStatus[] = ['succeeded', 'failed', 'cancelled'];
const SUMMARY_EVERY_MS = 60_000;

export function jobRequest(model: string, run: RunSpec, data: UploadedData): JobRequest {
  const { steps, batchSize } = run.budget;
  const { learningRate } = run;
  return {
    model,
    datasetId: data.trainId,
    validationDatasetId: run.phase === 'tune' ? data.validationId : data.evalId,
    task: run.task,
    method: run.method,
    n: run.n,
    ...(run.r === null ? {} : { r: run.r }),
    ...(run.activation === null ? {} : { activation: run.activation }),
    seed: run.seed,
    // Enough epochs for the steps; evaluated once, at the end, so no run is chosen by its score.
    hyperparameters: { maxSteps: steps, batchSize, learningRate, epochs: Math.ceil((steps * batchSize) / data.trainRows), evalEvery: 0 },
  };
}

export async function runAll(
  client: ServiceClient,
  runs: readonly RunSpec[],
  options: { model: string; data: ReadonlyMap<EvalTaskId, UploadedData>; session: string; pollMs: number; log: (line: string) => void },
): Promise<RunResult[]> {
  const { log } = options;
  const jobs = new Map<string, { run: RunSpec; job: Job }>();
  for (const run of runs) {
    const job = await client.submitJob(jobRequest(options.model, run, options.data.get(run.task)!), `${options.session}/${run.key}`);
    jobs.set(job.id, { run, job });
  }
  log(`submitted ${runs.length} jobs`);

  const results = new Map<string, RunResult>();
  let lastSummary = Date.now();
  while (results.size < jobs.size) {
    await sleep(options.pollMs);
    for (const [id, entry] of jobs) {
      if (results.has(entry.run.key)) continue;
      const job = await client.job(id);
      if (job.status !== entry.job.status) log(`${entry.run.key}: ${describe(job)}`);
      entry.job = job;
      if (ENDED.includes(job.status)) results.set(entry.run.key, await collect(client, entry.run, job));
    }
    if (Date.now() - lastSummary > SUMMARY_EVERY_MS) {
      lastSummary = Date.now();
      const running = [...jobs.values()].filter(({ job }) => job.status === 'running');
      log(`${results.size}/${jobs.size} ended; running: ${running.map(({ run, job }) => `${run.key} step ${job.progress?.step ?? 0}/${job.progress?.totalSteps ?? '?'}`).join(', ') || 'none'}`);
    }
  }
  return runs.map((run) => results.get(run.key)!);
}

function describe(job: Job): string {
  if (job.status === 'succeeded') return `succeeded, accuracy ${((job.bestMetrics?.accuracy ?? NaN) * 100).toFixed(1)}%`;
  if (job.error) return `${job.status} (${job.error.code}: ${job.error.message})`;
  return job.status;
}

async function collect(client: ServiceClient, run: RunSpec, job: Job): Promise<RunResult> {
  const succeeded = job.status === 'succeeded';
  const wallSeconds = job.startedAt && job.finishedAt ? (Date.parse(job.finishedAt) - Date.parse(job.startedAt)) / 1000 : null;
  return {
    run,
    jobId: job.id,
    status: job.status,
    accuracy: succeeded ? (job.bestMetrics?.accuracy ?? null) : null,
    evalLoss: succeeded ? (job.bestMetrics?.loss ?? null) : null,
    macroF1: succeeded ? (job.bestMetrics?.macroF1 ?? null) : null,
    trainableParameters: job.trainableParameters,
    wallSeconds,
    loss: await client.trainingLoss(job.id),
    error: job.error ? `${job.error.code}: ${job.error.message}` : null,
  };
}
