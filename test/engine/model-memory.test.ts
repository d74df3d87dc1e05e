/**
 * Sharded checkpoints, and the memory check that refuses a model or a batch that would not fit
 * before anything large is allocated.
 */
import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.js';
import { EngineError } from '../../src/engine/engine-error.js';
import { assertModelLoadable, loadFrozenModel } from '../../src/engine/models/load-model.js';
import { resolvePromptSpec } from '../../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../../src/engine/prompts/soft-prompt.js';
import { objectiveFor } from '../../src/engine/tasks/objective.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { TaskEncoder } from '../../src/engine/tasks/task-encoder.js';
import { loadTokenizer } from '../../src/engine/tokenizer.js';
import { trainPrompt } from '../../src/engine/training/trainer.js';
import { readSafetensors, writeSafetensors, type HostTensor } from '../../src/engine/safetensors.js';
import { embedSequences, sequenceLayout } from '../../src/engine/sequences.js';
import { tf } from '../../src/engine/tf.js';
import { causal } from '../helpers/engine-fixtures.js';
import { MODELS_DIR } from '../helpers/shared.js';
import { tempDir } from '../helpers/temp-dir.js';

const MINI = join(MODELS_DIR, 'gpt2-mini');
const miniConfig = JSON.parse(readFileSync(join(MINI, 'config.json'), 'utf8')) as Record<string, unknown>;
const miniTensors = readSafetensors(join(MINI, 'model.safetensors')).tensors;
const root = tempDir();
const GIB = 2 ** 30;

/** gpt2-mini's weights in shards as HF writes them: `edit` may move or drop tensors and rewrite the index. */
async function shardedFolder(
  name: string,
  edit: { shards?: (shards: Array<Map<string, HostTensor>>) => void; index?: (map: Record<string, string>) => void } = {},
): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  copyFileSync(join(MINI, 'config.json'), join(dir, 'config.json'));
  const names = [...miniTensors.keys()];
  const shards = [0, 1, 2].map((k) => new Map(names.filter((_, i) => i % 3 === k).map((n) => [n, miniTensors.get(n)!])));
  const file = (k: number) => `model-0000${k + 1}-of-00003.safetensors`;
  const weightMap = Object.fromEntries(shards.flatMap((shard, k) => [...shard.keys()].map((n) => [n, file(k)])));
  edit.shards?.(shards);
  edit.index?.(weightMap);
  await Promise.all(shards.map((shard, k) => writeSafetensors(join(dir, file(k)), shard)));
  writeFileSync(join(dir, 'model.safetensors.index.json'), JSON.stringify({ metadata: { total_size: 0 }, weight_map: weightMap }));
  return dir;
}

/** A folder whose config.json declares `shape` but whose weights are gpt2-mini's few megabytes. */
async function declaredFolder(name: string, shape: Record<string, number>): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...miniConfig, ...shape }));
  copyFileSync(join(MINI, 'model.safetensors'), join(dir, 'model.safetensors'));
  return dir;
}

const logitsOf = async (dir: string) => {
  const model = causal(await loadFrozenModel(dir));
  try {
    return tf.tidy(() => {
      const hidden = model.transform(model.embed(tf.tensor2d([[5, 17, 300, 2]], [1, 4], 'int32')), [4]);
      return model.logits(tf.reshape(hidden, [4, -1]) as tf.Tensor2D).arraySync();
    });
  } finally {
    model.dispose();
  }
};

const code = (expected: string, pattern?: RegExp) => (err: unknown) => {
  assert.ok(err instanceof EngineError, String(err));
  assert.equal(err.code, expected, err.message);
  if (pattern) assert.match(err.message, pattern);
  return true;
};

after(() => initBackend('wasm'));

for (const nativeKernels of ['on', 'off'] as const) {
  test(`a sharded checkpoint loads to the same model as the single file (wasm, native kernels ${nativeKernels})`, async () => {
    await initBackend('wasm', { nativeKernels });
    const dir = await shardedFolder(`sharded-${nativeKernels}`);
    assert.deepEqual(await logitsOf(dir), await logitsOf(MINI));
  });
}

test('shards are checked against their index and against the model', async () => {
  await initBackend('wasm');
  const missingShard = await shardedFolder('missing-shard', { index: (map) => void (map['transformer.wte.weight'] = 'model-00009-of-00009.safetensors') });
  await assert.rejects(loadFrozenModel(missingShard), code('MODEL_WEIGHTS_MISMATCH', /model-00009-of-00009\.safetensors, which does not exist/));
  const misplaced = await shardedFolder('misplaced', {
    index: (map) => {
      const [name] = Object.entries(map).find(([, file]) => file.startsWith('model-00001'))!;
      map[name] = 'model-00002-of-00003.safetensors';
    },
  });
  await assert.rejects(loadFrozenModel(misplaced), code('SAFETENSORS_INVALID', /is listed in model-00002-of-00003\.safetensors, which does not hold it/));
  const unlisted = await shardedFolder('unlisted', { index: (map) => void delete map['transformer.ln_f.bias'] });
  await assert.rejects(loadFrozenModel(unlisted), code('SAFETENSORS_INVALID', /holds tensors the index does not list there: transformer\.ln_f\.bias/));
  const outsideFolder = await shardedFolder('outside', { index: (map) => void (map['transformer.ln_f.bias'] = '../x.safetensors') });
  await assert.rejects(loadFrozenModel(outsideFolder), code('SAFETENSORS_INVALID', /not a \.safetensors file name in the same folder/));
  const dropped = await shardedFolder('dropped', {
    shards: (shards) => shards.forEach((s) => s.delete('transformer.h.1.mlp.c_fc.weight')),
    index: (map) => void delete map['transformer.h.1.mlp.c_fc.weight'],
  });
  await assert.rejects(loadFrozenModel(dropped), code('MODEL_WEIGHTS_MISMATCH', /missing tensors: h\.1\.mlp\.c_fc\.weight/));
});

for (const [backend, nativeKernels] of [['wasm', 'on'], ['wasm', 'off'], ['cpu', 'on']] as const) {
  test(`a model that declares ~600 GiB of weights is refused before anything is read (${backend}, native kernels ${nativeKernels})`, async () => {
    await initBackend(backend, { nativeKernels });
    const dir = await declaredFolder(`huge-${backend}-${nativeKernels}`, { n_embd: 16384, n_head: 128, n_layer: 48 * 12 });
    const rss = process.memoryUsage.rss();
    await assert.rejects(assertModelLoadable(dir), code('MODEL_TOO_LARGE', /needs \d+\.\d+ GiB for its weights/));
    await assert.rejects(loadFrozenModel(dir), code('MODEL_TOO_LARGE', /has \d+\.\d+ GiB free \(of \d+\.\d+ GiB\): /));
    // Refused from config.json alone: the declared tensors were never allocated (nor read: they are not in the file).
    assert.ok(process.memoryUsage.rss() - rss < 256 * 2 ** 20);
  });
}

test('on wasm without the addon, weights that overflow the 4 GiB heap are refused, naming the addon; with it they fit', async () => {
  // GPT-2 large's shapes: 3.1 GB of float32, and as much again in Wᵀ copies on wasm's own kernels.
  const dir = await declaredFolder('large-shapes', { vocab_size: 50257, n_positions: 1024, n_embd: 1280, n_head: 20, n_layer: 36 });
  await initBackend('wasm', { nativeKernels: 'off', memoryLimitBytes: 64 * GIB });
  await assert.rejects(assertModelLoadable(dir), code('MODEL_TOO_LARGE', /the WebAssembly heap has .* build the OpenBLAS addon/));
  await initBackend('wasm', { nativeKernels: 'on', memoryLimitBytes: 64 * GIB });
  await assertModelLoadable(dir);
});

test("a process's memory limit is honoured: a model over what is left is refused, and fits again under a larger limit", async () => {
  const rss = process.memoryUsage.rss();
  await initBackend('wasm', { memoryLimitBytes: rss + 600 * 2 ** 20 }); // 512 MiB of it is headroom: gpt2-mini's 21 MB fits
  await assertModelLoadable(MINI);
  const dir = await declaredFolder('medium-shapes', { vocab_size: 50257, n_positions: 1024, n_embd: 1024, n_head: 16, n_layer: 24 });
  await assert.rejects(assertModelLoadable(dir), code('MODEL_TOO_LARGE', /this process's memory has/));
  await initBackend('wasm', { memoryLimitBytes: rss + 4 * GIB });
  await assertModelLoadable(dir);
});

test('a batch whose activations would overflow the wasm heap is refused before it runs, and the model goes on working', async () => {
  await initBackend('wasm', { nativeKernels: 'on' });
  const model = causal(await loadFrozenModel(MINI));
  try {
    const weight = tf.variable(tf.ones([1]));
    const before = tf.memory().numTensors;
    const [B, L] = [1024, 120];
    // Training keeps 4 layers × 1,024 × 120 rows × (8·256 + 2·1,024) floats ≈ 8 GiB: more than the whole heap.
    const inputs = tf.zeros([B, L, 256]) as tf.Tensor3D;
    const lengths = new Array<number>(B).fill(L);
    assert.throws(
      () => tf.variableGrads(() => tf.sum(tf.mul(model.transform(inputs, lengths), weight)) as tf.Scalar, [weight]),
      code('BATCH_TOO_LARGE', /training on 1024 rows of 120 positions .* use smaller batches/),
    );
    inputs.dispose();
    assert.equal(tf.memory().numTensors, before);
    weight.dispose();
    assert.equal((await logitsOf(MINI)).length, 4);
  } finally {
    model.dispose();
  }
});

test("a run whose largest batch would not fit is refused before its first step", async () => {
  await initBackend('wasm', { nativeKernels: 'on' });
  const [model, tokenizer] = await Promise.all([loadFrozenModel(MINI), loadTokenizer(MINI)]);
  const prompt = await SoftPrompt.initialise(resolvePromptSpec({ method: 'lopt1', n: 4, r: 2 }, 256), model, (t) => tokenizer.encode(t));
  try {
    const encoder = new TaskEncoder(TASK_CATALOG.sst2.task, tokenizer, { maxPositions: 128, promptRows: 4 });
    // A batch of 512 short rows, then one of 512 rows of 120 tokens, which training would need
    // ~5 GiB for: 4 layers keep 61,440 rows × (7·256 + 1.5·1,024) floats (3.3 GB), and a layer's
    // tensors and gradients are ~1.1 GB each. With this seed the short batch comes first, so a run
    // without the check would take one step before meeting the long one.
    const row = (i: number, length: number) => ({ line: i + 1, input: new Array<number>(length).fill(5), label: i % 2 });
    const train = [...Array.from({ length: 512 }, (_, i) => row(i, 8)), ...Array.from({ length: 512 }, (_, i) => row(512 + i, 120))];
    let steps = 0;
    await assert.rejects(
      trainPrompt({ prompt, objective: objectiveFor(encoder, model), train, options: { batchSize: 512, maxSteps: 2 }, callbacks: { onStepEnd: () => void steps++ } }),
      code('BATCH_TOO_LARGE', /training on 512 rows of 120 positions \(after 4 prompt rows\)/),
    );
    assert.equal(steps, 0, 'refused before any step ran');
  } finally {
    prompt.dispose();
    model.dispose();
  }
});

test("a batch's input embeddings take memory linear in the batch under a gradient tape", async () => {
  await initBackend('wasm', { nativeKernels: 'on' });
  const model = await loadFrozenModel(MINI);
  const prompt = tf.variable(tf.randomNormal([4, 256]));
  try {
    const bytesFor = (B: number) => {
      const rows = Array.from({ length: B }, (_, b) => ({ prompt: prompt as tf.Tensor2D, ids: new Array<number>(8 + (b % 5)).fill(5) }));
      const base = tf.memory().numBytes;
      let used = 0;
      const { value, grads } = tf.variableGrads(() => {
        const embedded = embedSequences(model, rows, sequenceLayout(model, rows));
        used = tf.memory().numBytes - base;
        return tf.sum(embedded) as tf.Scalar;
      }, [prompt]);
      tf.dispose([value, ...Object.values(grads)]);
      return used;
    };
    const [small, large] = [bytesFor(64), bytesFor(512)];
    // 8× the rows may take about 8× the memory; slicing per row took 16× (a quarter of the heap at 512).
    assert.ok(large < small * 8 * 1.25, `64 rows took ${small} bytes, 512 rows ${large}`);
  } finally {
    prompt.dispose();
    model.dispose();
  }
});
