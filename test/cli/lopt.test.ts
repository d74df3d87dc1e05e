import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { DATASETS_DIR, MODELS_DIR } from '../helpers/shared.js';
import { tempDir } from '../helpers/temp-dir.js';

const MODEL = join(MODELS_DIR, 'gpt2-mini');
const SST2_DEV = join(DATASETS_DIR, 'sst2', 'dev.tsv');
const dir = tempDir();
const PROMPT = join(dir, 'prompt.safetensors');

async function lopt(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'src/cli/lopt.ts', ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

test('train writes a prompt file, then eval and predict use it', async () => {
  const trained = await lopt('train', '--model', MODEL, '--preset', 'sst2', '--data', SST2_DEV, '--limit', '24',
    '--method', 'lopt2', '--n', '4', '--r', '2', '--batch-size', '8', '--max-steps', '2', '--backend', 'wasm', '--out', PROMPT);
  assert.equal(trained.code, 0, trained.stderr);
  const summary = JSON.parse(trained.stdout);
  assert.equal(summary.trainableParameters, 2 * 2 * 256);
  assert.equal(summary.steps, 2);
  assert.ok(summary.metrics.accuracy >= 0 && summary.metrics.accuracy <= 1);
  assert.match(trained.stderr, /lopt2 n=4 r=2: 1024 trainable parameters; 22 training and 2 validation examples; backend wasm/);
  assert.ok(existsSync(PROMPT));

  const evaluated = await lopt('eval', '--prompt', PROMPT, '--model', MODEL, '--preset', 'sst2', '--data', SST2_DEV, '--limit', '10');
  assert.equal(evaluated.code, 0, evaluated.stderr);
  const metrics = JSON.parse(evaluated.stdout);
  assert.equal(metrics.examples, 10);
  assert.ok(metrics.accuracy >= 0 && metrics.accuracy <= 1 && metrics.loss > 0);

  const predicted = await lopt('predict', '--prompt', PROMPT, '--model', MODEL, 'a gorgeous , witty film', 'a dull mess');
  assert.equal(predicted.code, 0, predicted.stderr);
  const lines = predicted.stdout.trim().split('\n').map((line) => JSON.parse(line));
  assert.equal(lines.length, 2);
  assert.deepEqual(lines[0].input, { text: 'a gorgeous , witty film' });
  assert.ok(['0', '1'].includes(lines[0].label));
  assert.ok(Math.abs(lines[0].probabilities['0'] + lines[0].probabilities['1'] - 1) < 1e-6);

  // The same prompt as a PEFT adapter folder: its materialised X, with the model's heads and layers.
  const adapterDir = join(dir, 'adapter');
  const exported = await lopt('export', '--format', 'peft', PROMPT, adapterDir, '--model', MODEL);
  assert.equal(exported.code, 0, exported.stderr);
  assert.deepEqual(JSON.parse(exported.stdout), { adapter: adapterDir, files: ['adapter_config.json', 'adapter_model.safetensors'], numVirtualTokens: 4, tokenDim: 256 });
  const config = JSON.parse(readFileSync(join(adapterDir, 'adapter_config.json'), 'utf8'));
  assert.deepEqual(
    [config.peft_type, config.task_type, config.num_virtual_tokens, config.token_dim, config.num_attention_heads, config.num_layers, config.base_model_name_or_path],
    ['PROMPT_TUNING', 'CAUSAL_LM', 4, 256, 4, 4, 'gpt2-mini'],
  );
  const weights = readFileSync(join(adapterDir, 'adapter_model.safetensors'));
  assert.equal(weights.length, 8 + Number(weights.readBigUInt64LE(0)) + 4 * 256 * 4);
  const withoutModel = await lopt('export', '--format', 'peft', PROMPT, join(dir, 'adapter-bare'));
  assert.equal(withoutModel.code, 0, withoutModel.stderr);
  const bare = JSON.parse(readFileSync(join(dir, 'adapter-bare', 'adapter_config.json'), 'utf8'));
  assert.deepEqual([bare.num_attention_heads, bare.num_layers], [null, null]);
  const wrongFormat = await lopt('export', '--format', 'onnx', PROMPT, adapterDir);
  assert.equal(wrongFormat.code, 2);
  assert.match(wrongFormat.stderr, /--format must be peft, got "onnx"/);
});

test('usage mistakes exit 2 with the reason and the usage', async () => {
  const unknownOption = await lopt('train', '--model', MODEL, '--colour', 'red');
  assert.equal(unknownOption.code, 2);
  assert.match(unknownOption.stderr, /Unknown option '--colour'/);
  assert.match(unknownOption.stderr, /lopt train --model DIR --data FILE/);
  const badNumber = await lopt('train', '--model', MODEL, '--data', SST2_DEV, '--preset', 'sst2', '--r', 'four');
  assert.equal(badNumber.code, 2);
  assert.match(badNumber.stderr, /--r must be an integer, got "four"/);
  const noCommand = await lopt('fit');
  assert.equal(noCommand.code, 2);
  assert.match(noCommand.stderr, /unknown command "fit"/);
});

test('bad data and bad prompts exit 1 naming the problem', async () => {
  const unknownLabel = await lopt('train', '--model', MODEL, '--data', SST2_DEV, '--format', 'tsv', '--columns', 'text=sentence,label=label',
    '--template', '{text} It was', '--label-words', '{"0":" terrible"}', '--limit', '8');
  assert.equal(unknownLabel.code, 1);
  assert.match(unknownLabel.stderr, /a classification task needs label words for at least two labels/);
  const wrongLabels = await lopt('train', '--model', MODEL, '--data', SST2_DEV, '--preset', 'sst2', '--label-words', '{"neg":" bad","pos":" good"}', '--limit', '8');
  assert.equal(wrongLabels.code, 1);
  assert.match(wrongLabels.stderr, /line \d+: unknown label "[01]" \(known: neg, pos\) \[DATASET_INVALID\]/);
  const rankTooLarge = await lopt('train', '--model', MODEL, '--data', SST2_DEV, '--preset', 'sst2', '--n', '3', '--r', '5', '--limit', '8');
  assert.equal(rankTooLarge.code, 1);
  assert.match(rankTooLarge.stderr, /lopt1 needs an integer rank 1 ≤ r ≤ min\(n, d\) = 3, got 5/);
  const malformed = await lopt('train', '--model', MODEL, '--data', join(DATASETS_DIR, 'ag_news', 'classes.txt'), '--format', 'jsonl', '--preset', 'ag_news');
  assert.equal(malformed.code, 1);
  assert.match(malformed.stderr, /classes\.txt line 1: not valid JSON/);
});

test('a model too large for this machine exits 1 with MODEL_TOO_LARGE, having loaded nothing large', async () => {
  // gpt2-mini's files under a config.json that declares ~600 GiB of weights.
  const huge = join(dir, 'huge-model');
  mkdirSync(huge);
  for (const file of ['model.safetensors', 'vocab.json', 'merges.txt', 'tokenizer_config.json']) copyFileSync(join(MODEL, file), join(huge, file));
  const config = JSON.parse(readFileSync(join(MODEL, 'config.json'), 'utf8')) as Record<string, unknown>;
  writeFileSync(join(huge, 'config.json'), JSON.stringify({ ...config, n_embd: 16384, n_head: 128, n_layer: 576 }));
  const started = Date.now();
  const refused = await lopt('train', '--model', huge, '--preset', 'sst2', '--data', SST2_DEV, '--limit', '8', '--max-steps', '2');
  assert.equal(refused.code, 1, refused.stderr);
  assert.match(refused.stderr, /needs \d+\.\d+ GiB for its weights .* free \(of \d+\.\d+ GiB\): give the process more memory .*\[MODEL_TOO_LARGE\]/);
  assert.ok(Date.now() - started < 60_000, 'refused at once, from config.json');
});
