import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { describeBackend } from '../engine/backend.js';
import { splitTrainValidation } from '../engine/datasets/split-train-validation.js';
import { savePromptFile } from '../engine/prompt-file.js';
import type { PromptSpec } from '../engine/prompts/prompt-spec.js';
import { encodeCheckpoint, decodeCheckpoint } from '../engine/training/checkpoint-codec.js';
import { prepareTrainingRun } from '../engine/training/prepare-run.js';
import { trainPrompt } from '../engine/training/trainer.js';
import type { TrainOptions } from '../engine/training/train-options.js';
import { DATA_OPTIONS, DATA_USAGE, integer, MODEL_OPTIONS, number, readRows, required, TASK_OPTIONS, TASK_USAGE, taskSpec, type Values } from './cli-options.js';
import { openModel } from './open-model.js';
import { formatMetrics, progressReporter } from './progress-reporter.js';

export const TRAIN_USAGE = `lopt train --model DIR --data FILE [options]

model:
  --model DIR            Hugging Face model folder (config.json, model.safetensors, tokenizer)
  --backend B            auto | node-gpu | webgpu | node | wasm | cpu | webgpu-software (default auto)
  --native-kernels M     auto | off | on: OpenBLAS kernels on wasm and cpu (default auto: where built)
${DATA_USAGE}
  --validation FILE      validation rows (same format); else --validation-fraction of --data
  --validation-fraction F  default 0.1
  --validation-limit N   use only the first N validation rows
${TASK_USAGE}
prompt:
  --method M             pt | lopt1 | lopt2 (default lopt1)
  --n N                  virtual tokens (default 20)
  --r R                  rank, lopt1 and lopt2 (default 4)
  --activation A         σ of lopt2: tanh | relu | sigmoid | gelu (default tanh)
  --init I               vocab | random | text (default vocab)
  --init-text T          text whose embeddings start the prompt (--init text)
training:
  --batch-size N  --epochs N  --max-steps N  --lr X  --warmup-ratio X  --schedule linear|cosine|constant
  --v-lr-ratio X         V's learning rate as a multiple of --lr, which U keeps (lopt1, lopt2; default 1)
  --weight-decay X  --clip-norm X  --seed N  --eval-every N  --patience N  --no-bucketing
  --checkpoint FILE --checkpoint-every N   write a resumable checkpoint every N steps
  --resume FILE          continue from a checkpoint
output:
  --out FILE             prompt file to write (default prompt.safetensors)`;

const OPTIONS = {
  ...MODEL_OPTIONS,
  ...DATA_OPTIONS,
  ...TASK_OPTIONS,
  validation: { type: 'string' },
  'validation-fraction': { type: 'string' },
  'validation-limit': { type: 'string' },
  method: { type: 'string' },
  n: { type: 'string' },
  r: { type: 'string' },
  activation: { type: 'string' },
  init: { type: 'string' },
  'init-text': { type: 'string' },
  'batch-size': { type: 'string' },
  epochs: { type: 'string' },
  'max-steps': { type: 'string' },
  lr: { type: 'string' },
  'v-lr-ratio': { type: 'string' },
  'warmup-ratio': { type: 'string' },
  schedule: { type: 'string' },
  'weight-decay': { type: 'string' },
  'clip-norm': { type: 'string' },
  seed: { type: 'string' },
  'eval-every': { type: 'string' },
  patience: { type: 'string' },
  'no-bucketing': { type: 'boolean' },
  checkpoint: { type: 'string' },
  'checkpoint-every': { type: 'string' },
  resume: { type: 'string' },
  out: { type: 'string' },
} as const;

function promptSpec(values: Values): PromptSpec {
  const method = (values.method as PromptSpec['method'] | undefined) ?? 'lopt1';
  return {
    method,
    n: integer(values, 'n', 20)!,
    ...(method === 'pt' ? {} : { r: integer(values, 'r', 4) }),
    ...(values.activation ? { activation: values.activation as PromptSpec['activation'] } : {}),
    ...(values.init ? { init: values.init as PromptSpec['init'] } : {}),
    ...(values['init-text'] ? { initText: values['init-text'] as string } : {}),
    seed: integer(values, 'seed', 0)!,
  };
}

function trainOptions(values: Values): TrainOptions {
  const options: Record<string, unknown> = {
    batchSize: integer(values, 'batch-size'),
    epochs: integer(values, 'epochs'),
    maxSteps: integer(values, 'max-steps'),
    learningRate: number(values, 'lr'),
    vLearningRateRatio: number(values, 'v-lr-ratio'),
    warmupRatio: number(values, 'warmup-ratio'),
    schedule: values.schedule,
    weightDecay: number(values, 'weight-decay'),
    clipNorm: number(values, 'clip-norm'),
    seed: integer(values, 'seed'),
    evalEvery: integer(values, 'eval-every'),
    earlyStoppingPatience: integer(values, 'patience'),
    bucketByLength: values['no-bucketing'] ? false : undefined,
    checkpointEvery: integer(values, 'checkpoint-every'),
  };
  return Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) as TrainOptions;
}

export async function trainCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: false });
  const rows = await readRows(values, required(values, 'data'));
  const seed = integer(values, 'seed', 0)!;
  const split = values.validation
    ? { train: rows, validation: await readRows({ ...values, limit: undefined }, values.validation) }
    : splitTrainValidation(rows, { validationFraction: number(values, 'validation-fraction') ?? 0.1, seed });
  const validationRows = split.validation.slice(0, integer(values, 'validation-limit') ?? split.validation.length);
  const options = trainOptions(values);

  const { id, model, tokenizer, backend } = await openModel(values);
  const task = taskSpec(values, model.promptStack);
  const { prompt, objective, train, validation } = await prepareTrainingRun({
    model, tokenizer, task, prompt: promptSpec(values), train: split.train, validation: validationRows,
  });
  const { spec } = prompt;
  process.stderr.write(
    `${spec.method} n=${spec.n}${spec.r ? ` r=${spec.r}` : ''}: ${prompt.trainableParameters} trainable parameters; ` +
      `${train.length} training and ${validation.length} validation examples; backend ${describeBackend(backend)}\n`,
  );

  const reporter = progressReporter();
  const checkpointPath = values.checkpoint as string | undefined;
  const result = await trainPrompt({
    prompt,
    objective,
    train,
    validation,
    options,
    ...(values.resume ? { resumeFrom: decodeCheckpoint(values.resume as string) } : {}),
    callbacks: {
      onStepEnd: reporter.onStepEnd,
      onEvaluation: reporter.onEvaluation,
      ...(checkpointPath ? { onCheckpoint: (checkpoint) => writeFile(checkpointPath, encodeCheckpoint(checkpoint)) } : {}),
    },
  }).finally(() => reporter.stop());

  const metrics = { ...(result.best?.metrics ?? result.finalMetrics ?? {}) };
  const out = (values.out as string | undefined) ?? 'prompt.safetensors';
  await savePromptFile(out, prompt, { model: { id, type: model.modelType, hiddenSize: model.dims.hiddenSize, stack: model.promptStack }, task, metrics });
  process.stdout.write(
    `${JSON.stringify({ out, method: spec.method, n: spec.n, r: spec.r || undefined, trainableParameters: prompt.trainableParameters, steps: result.steps, stoppedBy: result.stoppedBy, bestStep: result.best?.step, metrics, wallSeconds: Number(result.wallSeconds.toFixed(1)) })}\n`,
  );
  const kept = result.best?.metrics ?? result.finalMetrics;
  if (kept) process.stderr.write(`best: ${formatMetrics(kept)}\n`);
  prompt.dispose();
  model.dispose();
}
