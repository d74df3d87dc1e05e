import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.js';
import { loadFrozenModel, readModelInfo } from '../../src/engine/models/load-model.js';
import { rotaryFrequencies } from '../../src/engine/models/rotary.js';
import { readSafetensors, writeSafetensors, type HostTensor } from '../../src/engine/safetensors.js';
import { embedSequences, sequenceLayout } from '../../src/engine/sequences.js';
import { tf } from '../../src/engine/tf.js';
import { causal } from '../helpers/engine-fixtures.js';
import { MODELS_DIR } from '../helpers/shared.js';
import { tempDir } from '../helpers/temp-dir.js';
import { maxAbsDiff } from '../helpers/tensors.js';

const root = tempDir();
const source = (family: string) => join(MODELS_DIR, `tiny-${family}-random`);
const configOf = (family: string) => JSON.parse(readFileSync(join(source(family), 'config.json'), 'utf8')) as Record<string, unknown>;
const tensorsOf = (family: string) => readSafetensors(join(source(family), 'model.safetensors')).tensors;

/** A folder with a tiny family model's config and weights, edited. */
async function modelFolder(
  name: string,
  family: 'llama' | 'qwen2',
  edit: { config?: Record<string, unknown>; tensors?: (t: Map<string, HostTensor>) => void } = {},
): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...configOf(family), ...edit.config }));
  const tensors = new Map(tensorsOf(family));
  edit.tensors?.(tensors);
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}

const rejectsWith = (promise: Promise<unknown>, code: string, message: RegExp) =>
  assert.rejects(promise, (err: Error & { code?: string }) => {
    assert.equal(err.code, code);
    assert.match(err.message, message);
    return true;
  });

/** Logits of the last position of `ids` with no prompt. */
async function lastLogits(dir: string, ids: number[]): Promise<Float32Array> {
  const model = causal(await loadFrozenModel(dir));
  const rows = [{ ids }];
  const logits = tf.tidy(() => {
    const hidden = model.transform(embedSequences(model, rows, sequenceLayout(model, rows)), [ids.length]);
    return model.logits(tf.reshape(tf.slice(hidden, [0, ids.length - 1, 0], [1, 1, -1]), [1, -1]) as tf.Tensor2D);
  });
  const data = (await logits.data()) as Float32Array;
  logits.dispose();
  model.dispose();
  return data;
}

before(() => initBackend('wasm'));

test('the Llama and Qwen2 folders load with their family and dimensions, and nothing they hold is trainable', async () => {
  for (const family of ['llama', 'qwen2'] as const) {
    const expected = { vocabSize: 8192, hiddenSize: 64, maxPositions: 128, numLayers: 2, numHeads: 4 };
    assert.deepEqual(await readModelInfo(source(family)), { modelType: family, promptStack: 'decoder', dims: expected });
    const before = tf.memory().numTensors;
    const model = await loadFrozenModel(source(family));
    assert.equal(model.modelType, family);
    assert.deepEqual(model.dims, expected);
    assert.equal(Object.keys(tf.engine().registeredVariables).length, 0);
    model.dispose();
    assert.equal(tf.memory().numTensors, before);
  }
});

test('missing, unexpected and mis-shaped tensors are refused with their names', async () => {
  const noHead = await modelFolder('no-head', 'llama', { tensors: (t) => t.delete('lm_head.weight') });
  await rejectsWith(loadFrozenModel(noHead), 'MODEL_WEIGHTS_MISMATCH', /missing tensors: lm_head\.weight/);
  const noBias = await modelFolder('no-bias', 'qwen2', { tensors: (t) => t.delete('model.layers.1.self_attn.k_proj.bias') });
  await rejectsWith(loadFrozenModel(noBias), 'MODEL_WEIGHTS_MISMATCH', /missing tensors: model\.layers\.1\.self_attn\.k_proj\.bias/);
  const extra = await modelFolder('extra', 'llama', { tensors: (t) => t.set('model.layers.2.input_layernorm.weight', { shape: [64], data: new Float32Array(64) }) });
  await rejectsWith(loadFrozenModel(extra), 'MODEL_WEIGHTS_MISMATCH', /unexpected tensors: model\.layers\.2\.input_layernorm\.weight/);
  // k_proj is [kv heads · head_dim, d] = [32, 64]: a checkpoint with as many key heads as query heads does not fit this config.
  const wide = await modelFolder('wide', 'llama', { tensors: (t) => t.set('model.layers.0.self_attn.k_proj.weight', { shape: [64, 64], data: new Float32Array(64 * 64) }) });
  await rejectsWith(loadFrozenModel(wide), 'MODEL_WEIGHTS_MISMATCH', /wrong shapes: model\.layers\.0\.self_attn\.k_proj\.weight is \[64, 64\], expected \[32, 64\]/);
  // Llama with attention_bias expects biases on q, k, v and o.
  const biased = await modelFolder('biased', 'llama', { config: { attention_bias: true } });
  await rejectsWith(loadFrozenModel(biased), 'MODEL_WEIGHTS_MISMATCH', /missing tensors: .*self_attn\.q_proj\.bias.*self_attn\.o_proj\.bias/);
});

test('a tied model may store its head as well, and an old checkpoint its rotary buffers: both are ignored', async () => {
  const dir = await modelFolder('stored-head', 'qwen2', {
    tensors: (t) => {
      t.set('lm_head.weight', t.get('model.embed_tokens.weight')!);
      t.set('model.layers.0.self_attn.rotary_emb.inv_freq', { shape: [8], data: new Float32Array(8) });
    },
  });
  const ids = [270, 705, 82];
  assert.ok(maxAbsDiff(await lastLogits(dir, ids), await lastLogits(source('qwen2'), ids)) === 0);
});

test('a sharded checkpoint (HF index and shards) loads to the same model as the single file', async () => {
  const dir = join(root, 'sharded');
  await mkdir(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify(configOf('llama')));
  const names = [...tensorsOf('llama').keys()];
  const shardFile = (k: number) => `model-0000${k + 1}-of-00002.safetensors`;
  const weightMap: Record<string, string> = {};
  for (const k of [0, 1]) {
    const shard = new Map(names.filter((_, i) => i % 2 === k).map((name) => [name, tensorsOf('llama').get(name)!]));
    for (const name of shard.keys()) weightMap[name] = shardFile(k);
    await writeSafetensors(join(dir, shardFile(k)), shard);
  }
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: {}, weight_map: weightMap }));
  const ids = [270, 705, 82, 257];
  assert.equal(maxAbsDiff(await lastLogits(dir, ids), await lastLogits(source('llama'), ids)), 0);
});

test('config values outside what the engine implements are refused, naming them', async () => {
  const cases: Array<[Record<string, unknown>, string, RegExp]> = [
    [{ rope_scaling: { rope_type: 'dynamic', factor: 2 } }, 'MODEL_UNSUPPORTED', /rope_scaling of type "dynamic" is not supported \(supported: default, linear, llama3\)/],
    [{ rope_scaling: { type: 'yarn', factor: 4 } }, 'MODEL_UNSUPPORTED', /rope_scaling of type "yarn"/],
    [{ hidden_act: 'gelu' }, 'MODEL_UNSUPPORTED', /hidden_act "gelu"/],
    [{ num_key_value_heads: 3 }, 'MODEL_CONFIG_INVALID', /num_key_value_heads 3 does not divide num_attention_heads 4/],
    [{ rope_scaling: { rope_type: 'linear' } }, 'MODEL_CONFIG_INVALID', /factor must be a positive number/],
    [{ rms_norm_eps: -1 }, 'MODEL_CONFIG_INVALID', /rms_norm_eps must be a positive number/],
  ];
  for (const [i, [config, code, message]] of cases.entries()) {
    await rejectsWith(loadFrozenModel(await modelFolder(`config-${i}`, 'llama', { config })), code, message);
  }
});

test('rotary frequencies: default, linear and llama3 scaling as Hugging Face computes them', () => {
  const base = Array.from(rotaryFrequencies(16, 10000, { kind: 'none' }));
  assert.ok(maxAbsDiff(base, Array.from({ length: 8 }, (_, i) => 10000 ** (-i / 8))) < 1e-7);
  const linear = rotaryFrequencies(16, 10000, { kind: 'linear', factor: 4 });
  assert.ok(maxAbsDiff(linear, base.map((f) => f / 4)) < 1e-7);
  // HF's _compute_llama3_parameters (θ 500000, factor 8, low 1, high 4, original context 64): one
  // frequency each kept, blended and slowed down, then only slowed.
  const llama3 = rotaryFrequencies(16, 500000, { kind: 'llama3', factor: 8, lowFreqFactor: 1, highFreqFactor: 4, originalMaxPositions: 64 });
  const expected = [1.0, 0.0794030091792082, 0.004700753866357992, 0.0009115830921521386, 0.00017677669529663688, 3.428102195952591e-05, 6.647869871181236e-06, 1.2891731721515574e-06];
  expected.forEach((f, i) => assert.ok(Math.abs(llama3[i]! - f) <= 1e-6 * f, `frequency ${i}: ${llama3[i]} against ${f}`));
});

test('linear rope scaling changes the logits, and loads from the old `type` key as well', async () => {
  const ids = [270, 705, 82, 257, 1149, 2229];
  const scaled = await modelFolder('linear', 'llama', { config: { rope_scaling: { type: 'linear', factor: 2 } } });
  const plain = await lastLogits(source('llama'), ids);
  assert.ok(maxAbsDiff(await lastLogits(scaled, ids), plain) > 1e-3);
});

test("Mistral's sliding window bounds the sequence: within it attention is the full causal one, past it a sequence is refused", async () => {
  const dir = join(root, 'mistral-window');
  await mkdir(dir);
  const { attention_bias: _a, mlp_bias: _m, ...llama } = configOf('llama');
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...llama, model_type: 'mistral', sliding_window: 8 }));
  await writeSafetensors(join(dir, 'model.safetensors'), tensorsOf('llama'));
  assert.equal((await readModelInfo(dir)).dims.maxPositions, 8);
  const ids = [270, 705, 82, 257, 1149, 2229, 290, 1690];
  assert.ok(maxAbsDiff(await lastLogits(dir, ids), await lastLogits(source('llama'), ids)) < 1e-5);
  await rejectsWith(lastLogits(dir, [...ids, 2689]), 'SEQUENCE_TOO_LONG', /exceed the model's 8 positions/);
  // Absent from the config, Mistral's window is HF's default, 4096; null is none.
  for (const [sliding_window, expected] of [[undefined, 4096], [null, 8192]] as const) {
    const defaults = join(root, `mistral-default-${String(sliding_window)}`);
    await mkdir(defaults);
    writeFileSync(join(defaults, 'config.json'), JSON.stringify({ ...llama, model_type: 'mistral', max_position_embeddings: 8192, sliding_window }));
    assert.equal((await readModelInfo(defaults)).dims.maxPositions, expected);
  }
  // Qwen2 reads its window only when use_sliding_window is set.
  const qwen = await modelFolder('qwen-window', 'qwen2', { config: { sliding_window: 8, use_sliding_window: true } });
  assert.equal((await readModelInfo(qwen)).dims.maxPositions, 8);
  const qwenOff = await modelFolder('qwen-no-window', 'qwen2', { config: { sliding_window: 8, use_sliding_window: false } });
  assert.equal((await readModelInfo(qwenOff)).dims.maxPositions, 128);
});
