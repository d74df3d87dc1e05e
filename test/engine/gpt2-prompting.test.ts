import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.js';
import type { CausalLanguageModel } from '../../src/engine/models/frozen-model.js';
import { loadFrozenModel } from '../../src/engine/models/load-model.js';
import { promptedHiddenStates, type PromptedRow } from '../../src/engine/sequences.js';
import { classificationLoss, flatLabelScores } from '../../src/engine/tasks/classification.js';
import { tf } from '../../src/engine/tf.js';
import { allPositionsHidden, causal } from '../helpers/engine-fixtures.js';
import { MODELS_DIR, gpt2MiniFixture } from '../helpers/shared.js';
import { maxAbsDiff } from '../helpers/tensors.js';

const fixture = gpt2MiniFixture();
const [long, short] = fixture.input_ids.map((row, b) => row.slice(0, fixture.lengths[b])) as [number[], number[]];
let model: CausalLanguageModel;

before(async () => {
  await initBackend('wasm');
  model = causal(await loadFrozenModel(join(MODELS_DIR, 'gpt2-mini')));
});
after(() => model.dispose());

/** Hidden states of each row's real positions, flattened per row. */
async function realHidden(rows: PromptedRow[]): Promise<Float32Array[]> {
  const { hidden, lengths, T } = allPositionsHidden(model, rows);
  const d = model.dims.hiddenSize;
  const data = (await hidden.data()) as Float32Array;
  hidden.dispose();
  return lengths.map((length, b) => data.slice(b * T * d, (b * T + length) * d));
}

const randomPrompt = (n: number, seed: number) => tf.randomNormal([n, model.dims.hiddenSize], 0, 0.1, 'float32', seed) as tf.Tensor2D;

test('right padding does not change a row: batched equals alone', async () => {
  const prompt = randomPrompt(3, 1);
  const [, shortBatched] = await realHidden([{ prompt, ids: long }, { prompt, ids: short }]);
  const [shortAlone] = await realHidden([{ prompt, ids: short }]);
  assert.ok(maxAbsDiff(shortBatched!, shortAlone!) < 1e-5);
  prompt.dispose();
});

test('rows with different prompts, of different lengths or none, each get their own as if run alone', async () => {
  const first = randomPrompt(4, 2);
  const second = randomPrompt(7, 3);
  const rows: PromptedRow[] = [{ prompt: first, ids: short }, { prompt: second, ids: short }, { ids: long }];
  const batched = await realHidden(rows);
  for (const [b, row] of rows.entries()) {
    const [alone] = await realHidden([row]);
    assert.ok(maxAbsDiff(batched[b]!, alone!) < 1e-5, `row ${b}`);
  }
  assert.equal(batched[1]!.length - batched[0]!.length, 3 * model.dims.hiddenSize);
  tf.dispose([first, second]);
});

test('bad inputs are refused with the reason', () => {
  const d = model.dims.hiddenSize;
  const tooMany = tf.zeros([model.dims.maxPositions - short.length + 1, d]) as tf.Tensor2D;
  assert.throws(() => allPositionsHidden(model, [{ prompt: tooMany, ids: short }]), /prompt rows \+ tokens = 129 exceed the model's 128 positions/);
  const narrow = tf.zeros([2, d - 1]) as tf.Tensor2D;
  assert.throws(() => allPositionsHidden(model, [{ prompt: narrow, ids: short }]), /prompt rows have width 255, the model's is 256/);
  assert.throws(() => allPositionsHidden(model, [{ ids: [1, 8192] }]), /token id 8192 \(row 0, position 1\) is outside the vocabulary of 8192/);
  assert.throws(() => allPositionsHidden(model, [{ ids: [] }]), /row 0 has no tokens/);
  assert.throws(() => model.transform(tf.zeros([1, 3, d]) as tf.Tensor3D, [4]), /every length must be an integer in 1 … 3/);
  tf.dispose([tooMany, narrow]);
});

test('repeated forward and backward passes leave no tensor behind', async () => {
  const prompt = randomPrompt(5, 4);
  const lossOf = (x: tf.Tensor) => classificationLoss(model, x as tf.Tensor2D, [long, short], fixture.labels, fixture.label_ids.map((id) => [id]));
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
  prompt.dispose();
});

test('a prompt shared by the batch runs once, with the same hidden states and gradients as per-row prompts', async () => {
  const prompt = randomPrompt(6, 5);
  const ids = [long, short];
  const d = model.dims.hiddenSize;
  const shared = promptedHiddenStates(model, ids.map((row) => ({ prompt, ids: row })));
  assert.deepEqual(shared.tokenStart, [0, 0]);
  assert.equal(shared.hidden.shape[1], long.length, 'only token positions come back');
  const general = await realHidden(ids.map((row) => ({ prompt, ids: row })));
  const sharedData = (await shared.hidden.data()) as Float32Array;
  ids.forEach((row, b) => {
    const tokens = sharedData.slice(b * long.length * d, (b * long.length + row.length) * d);
    assert.ok(maxAbsDiff(tokens, general[b]!.slice(6 * d)) < 1e-5, `row ${b}`);
  });
  shared.hidden.dispose();

  // The loss through the shared path against the same loss with a copy of the prompt per row.
  const labelTokens = fixture.label_ids.map((id) => [id]);
  const sharedLoss = (x: tf.Tensor) => classificationLoss(model, x as tf.Tensor2D, ids, fixture.labels, labelTokens);
  const perRowLoss = (x: tf.Tensor) =>
    tf.tidy(() => {
      const rows = ids.map((row) => ({ prompt: tf.add(x, 0) as tf.Tensor2D, input: row, labelTokens }));
      const scores = tf.reshape(flatLabelScores(model, rows), [2, 2]);
      return tf.losses.softmaxCrossEntropy(tf.oneHot(fixture.labels, 2), scores) as tf.Scalar;
    });
  const a = tf.valueAndGrad(sharedLoss)(prompt);
  const b = tf.valueAndGrad(perRowLoss)(prompt);
  assert.ok(Math.abs((await a.value.data())[0]! - (await b.value.data())[0]!) < 1e-5);
  assert.ok(maxAbsDiff(await a.grad.data(), await b.grad.data()) < 1e-5);
  tf.dispose([a.value, a.grad, b.value, b.grad, prompt]);
});
