import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.js';
import type { FrozenModel } from '../../src/engine/models/frozen-model.js';
import { loadFrozenModel } from '../../src/engine/models/load-model.js';
import { tokenBatch } from '../../src/engine/models/token-batch.js';
import { tf } from '../../src/engine/tf.js';
import { labelWordLoss } from '../helpers/label-loss.js';
import { MODELS_DIR, gpt2MiniFixture } from '../helpers/shared.js';
import { maxAbsDiff } from '../helpers/tensors.js';

const fixture = gpt2MiniFixture();
const [long, short] = fixture.input_ids.map((row, b) => row.slice(0, fixture.lengths[b])) as [number[], number[]];
let model: FrozenModel;

before(async () => {
  await initBackend('wasm');
  model = await loadFrozenModel(join(MODELS_DIR, 'gpt2-mini'));
});
after(() => model.dispose());

/** Hidden states of one sequence's real positions, run as its own batch of one. */
async function alone(ids: number[], prompt?: tf.Tensor2D): Promise<Float32Array> {
  const batch = tokenBatch([ids], 0, model.dims.vocabSize);
  const hidden = model.hiddenStates(batch, prompt);
  const data = (await hidden.data()) as Float32Array;
  tf.dispose([batch.ids, hidden]);
  return data;
}

test('right padding does not change a row: batched equals alone', async () => {
  const prompt = tf.randomNormal([3, model.dims.hiddenSize], 0, 0.1, 'float32', 1) as tf.Tensor2D;
  const batch = tokenBatch([long, short], 123, model.dims.vocabSize);
  const hidden = model.hiddenStates(batch, prompt);
  const T = hidden.shape[1];
  const d = model.dims.hiddenSize;
  const rows = (await hidden.data()) as Float32Array;
  const shortBatched = rows.subarray(T * d, (T + 3 + short.length) * d);
  assert.ok(maxAbsDiff(shortBatched, await alone(short, prompt)) < 1e-5);
  tf.dispose([prompt, batch.ids, hidden]);
});

test('one prompt per row: each row gets its own, as if run alone', async () => {
  const d = model.dims.hiddenSize;
  const first = tf.randomNormal([4, d], 0, 0.1, 'float32', 2) as tf.Tensor2D;
  const second = tf.randomNormal([4, d], 0, 0.1, 'float32', 3) as tf.Tensor2D;
  const perRow = tf.stack([first, second]) as tf.Tensor3D;
  const batch = tokenBatch([short, short], 0, model.dims.vocabSize);
  const hidden = model.hiddenStates(batch, perRow);
  const rowSize = hidden.shape[1] * d;
  const rows = (await hidden.data()) as Float32Array;
  assert.ok(maxAbsDiff(rows.subarray(0, rowSize), await alone(short, first)) < 1e-5);
  assert.ok(maxAbsDiff(rows.subarray(rowSize), await alone(short, second)) < 1e-5);
  assert.ok(maxAbsDiff(rows.subarray(0, rowSize), rows.subarray(rowSize)) > 1e-3, 'different prompts must matter');
  tf.dispose([first, second, perRow, batch.ids, hidden]);
});

test('bad inputs are refused with the reason', () => {
  const d = model.dims.hiddenSize;
  const batch = tokenBatch([short], 0, model.dims.vocabSize);
  const tooMany = tf.zeros([model.dims.maxPositions - short.length + 1, d]) as tf.Tensor2D;
  assert.throws(() => model.hiddenStates(batch, tooMany), /prompt rows \+ tokens = 129 exceed the model's 128 positions/);
  const narrow = tf.zeros([2, d - 1]) as tf.Tensor2D;
  assert.throws(() => model.hiddenStates(batch, narrow), /prompt rows have width 255, the model's is 256/);
  const perRow = tf.zeros([2, 2, d]) as tf.Tensor3D;
  assert.throws(() => model.hiddenStates(batch, perRow), /2 per-row prompts for a batch of 1 rows/);
  assert.throws(() => tokenBatch([[1, 8192]], 0, 8192), /token id 8192 \(row 0, position 1\) is outside the vocabulary of 8192/);
  assert.throws(() => tokenBatch([[]], 0, 8192), /at least one token/);
  tf.dispose([batch.ids, tooMany, narrow, perRow]);
});

test('repeated forward and backward passes leave no tensor behind', async () => {
  const prompt = tf.randomNormal([5, model.dims.hiddenSize], 0, 0.1, 'float32', 4) as tf.Tensor2D;
  const batch = tokenBatch([long, short], fixture.pad_id, model.dims.vocabSize);
  const lossOf = (x: tf.Tensor) => labelWordLoss(model, batch, x as tf.Tensor2D, fixture.label_ids, fixture.labels).loss;
  const step = async () => {
    const { value, grad } = tf.valueAndGrad(lossOf)(prompt);
    const loss = (await value.data())[0]!;
    tf.dispose([value, grad]);
    return loss;
  };
  const baseline = tf.memory().numTensors;
  const counts = [];
  for (let i = 0; i < 3; i++) {
    assert.ok(Number.isFinite(await step()));
    counts.push(tf.memory().numTensors);
  }
  assert.deepEqual(counts, [baseline, baseline, baseline]);
  tf.dispose([prompt, batch.ids]);
});
