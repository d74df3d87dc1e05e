/**
 * The body of an evaluation job (see job-processor.ts for what every job goes through): scores a
 * stored classification prompt on its dataset's rows (the first `limit`), with its stored X as
 * predict uses it, under the job's lease, and stores the report (accuracy, macro-F1, the
 * confusion matrix, per-class counts) with the job's final state.
 */
import { EngineError } from '../engine/engine-error.js';
import { resolvePromptSpec } from '../engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../engine/prompts/soft-prompt.js';
import { reportClassification } from '../engine/tasks/objective.js';
import { TaskEncoder } from '../engine/tasks/task-encoder.js';
import type { TaskSpec } from '../engine/tasks/task-spec.js';
import type { JobContext } from './job-processor.js';
import type { EvaluationSpec } from '../queue/job-spec.js';

export async function runEvaluation({ deps, run, job, readRows, takeLease }: JobContext): Promise<void> {
  const { store, storeCall, log } = deps;
  // Between batches the worker renews its lock and hears cancels.
  const { limit, batchSize } = job.spec as unknown as EvaluationSpec;
  const stored = job.promptId ? await storeCall('read the prompt', () => store.prompts.findById(job.tenantId, job.promptId!)) : null;
  if (!stored) throw new EngineError('BAD_ARGUMENT', 'the prompt to evaluate was deleted');
  const task = stored.task as unknown as Extract<TaskSpec, { kind: 'classification' }>;
  const rows = await readRows(job.datasetId);
  const { model, tokenizer } = await deps.models.get(job.modelId);
  const d = model.dims.hiddenSize;
  const encoder = new TaskEncoder(task, tokenizer, { maxPositions: model.dims.maxPositions, promptRows: stored.n });
  const examples = encoder.encodeAll(limit === null ? rows : rows.slice(0, limit));
  // The stored X, as a pt prompt of its rows: exactly what predict puts in front of each input.
  const X = stored.tensors.X!;
  const prompt = SoftPrompt.fromHostTensors(resolvePromptSpec({ method: 'pt', n: X.shape[0]! }, d), d, new Map([['X', X]]));
  try {
    const held = await takeLease(Math.ceil(examples.length / batchSize));
    if (!held) return; // cancelled or ended while it waited
    log.info({ jobId: job.id, examples: examples.length }, 'evaluating');
    const rowsX = prompt.materialize();
    try {
      const report = await reportClassification(encoder, model, rowsX, examples, batchSize, run.signal);
      const summary = `evaluated ${report.examples} examples: accuracy ${report.accuracy.toFixed(4)}, macro-F1 ${report.macroF1.toFixed(4)}`;
      await storeCall('store the report', () => held.complete({ ...report, labelWords: task.labelWords }, summary));
      log.info({ jobId: job.id }, `job succeeded: ${summary}`);
    } finally {
      rowsX.dispose();
    }
  } finally {
    prompt.dispose();
  }
}
