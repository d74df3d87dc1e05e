/**
 * The body of a tuning job (see job-processor.ts for what every job goes through): trains with the
 * engine on a cached model from the last checkpoint under the job's lease, streams progress and
 * metrics, and stores the learned prompt with the job's final state in one transaction.
 */
import { promptTensors } from '../engine/prompt-file.js';
import type { SoftPrompt } from '../engine/prompts/soft-prompt.js';
import { splitTrainValidation } from '../engine/datasets/split-train-validation.js';
import { decodeCheckpoint, encodeCheckpoint } from '../engine/training/checkpoint-codec.js';
import { prepareTrainingRun } from '../engine/training/prepare-run.js';
import { totalTrainingSteps, trainPrompt } from '../engine/training/trainer.js';
import type { JobContext } from './job-processor.js';
import type { JobSpec } from '../queue/job-spec.js';

/** How often (in steps) a running job looks for a cancel request it may have missed. */
const CANCEL_POLL_STEPS = 10;
/** How often (in steps) the log says where a running job is. */
const PROGRESS_LOG_STEPS = 25;

export async function runTraining({ deps, run, job, readRows, takeLease }: JobContext): Promise<void> {
  const { log, storeCall } = deps;
  const { jobId } = run;
  const spec = job.spec as unknown as JobSpec;
  let created: SoftPrompt | undefined; // disposed however the run ends
  try {
    const rows = await readRows(job.datasetId);
    const split = job.validationDatasetId
      ? { train: rows, validation: await readRows(job.validationDatasetId) }
      : splitTrainValidation(rows, { validationFraction: spec.validationFraction, seed: spec.prompt.seed ?? 0 });
    const { model, tokenizer } = await deps.models.get(job.modelId);
    const { prompt, objective, train, validation } = await prepareTrainingRun({
      model, tokenizer, task: spec.task, prompt: spec.prompt, train: split.train, validation: split.validation,
    });
    created = prompt;
    const options = { ...spec.training, checkpointEvery: deps.checkpointEvery };

    const held = await takeLease(totalTrainingSteps(train.length, options));
    if (!held) return; // cancelled or ended while it waited
    const resumeFrom = held.checkpoint ? decodeCheckpoint({ bytes: held.checkpoint.data, name: `checkpoint of job ${jobId}` }) : undefined;
    log.info({ jobId, lease: held.lease, resumeFrom: resumeFrom?.step ?? 0 }, resumeFrom ? 'resuming from checkpoint' : 'starting');

    // The lock is renewed between steps only: say so once when steps come near its duration.
    let lastStepAt = Date.now();
    let warned = false;
    /** The step's time in ms, warning once when steps come near the lock's duration. */
    const timeStep = (step: number) => {
      const took = Date.now() - lastStepAt;
      lastStepAt = Date.now();
      if (warned || took < deps.jobLockMs / 2) return took;
      warned = true;
      log.warn({ jobId, step, stepMs: took, jobLockMs: deps.jobLockMs }, 'a step took over half the queue lock; raise LOPT_JOB_LOCK_MS above the longest step, or use smaller batches');
      return took;
    };
    const result = await trainPrompt({
      prompt,
      objective,
      train,
      validation,
      options,
      signal: run.signal,
      ...(resumeFrom ? { resumeFrom } : {}),
      callbacks: {
        async onStepEnd(progress) {
          run.reportProgress(progress);
          deps.metrics.observeStep(jobId, job.modelId, progress, timeStep(progress.step) / 1000);
          if (progress.step % PROGRESS_LOG_STEPS === 0) log.info({ jobId, step: progress.step, totalSteps: progress.totalSteps, loss: progress.loss, etaSeconds: progress.etaSeconds }, 'training');
          const { step, loss, learningRate, tokensPerSecond } = progress;
          await storeCall('record a step', () => held.recordStep(step, progress, { loss, learningRate, tokensPerSecond }));
          if (step % CANCEL_POLL_STEPS === 0 && (await storeCall('look for a cancel', () => held.cancelRequested()))) run.abort('cancelled');
        },
        onEvaluation: ({ step, metrics, isBest }) => storeCall('record an evaluation', () => held.recordEvaluation(step, metrics, isBest)),
        onCheckpoint: (checkpoint) => storeCall('save a checkpoint', () => held.saveCheckpoint(checkpoint.step, encodeCheckpoint(checkpoint))),
      },
    });

    const tensors = await promptTensors(prompt);
    const metrics = result.best?.metrics ?? result.finalMetrics;
    const promptSpec = prompt.spec;
    const learned = {
      tenantId: job.tenantId,
      jobId,
      source: 'trained' as const,
      spec: spec.prompt,
      modelId: job.modelId,
      method: promptSpec.method,
      n: promptSpec.n,
      r: promptSpec.r || null,
      activation: promptSpec.method === 'lopt2' ? promptSpec.activation : null,
      trainableParameters: prompt.trainableParameters,
      task: spec.task,
      metrics: metrics ?? {},
      tensors: Object.fromEntries([...tensors].map(([name, t]) => [name, { shape: [...t.shape], data: t.data }])),
    };
    await storeCall('store the prompt', () => held.succeed(learned, metrics ?? null));
    log.info({ jobId, metrics }, 'job succeeded: its prompt is stored');
  } finally {
    created?.dispose();
  }
}
