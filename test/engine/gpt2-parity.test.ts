import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.js';
import type { FrozenModel, TokenBatch } from '../../src/engine/models/frozen-model.js';
import { loadFrozenModel } from '../../src/engine/models/load-model.js';
import { tokenBatch } from '../../src/engine/models/token-batch.js';
import { readSafetensors, type HostTensor } from '../../src/engine/safetensors.js';
import { tf } from '../../src/engine/tf.js';
import { labelWordLoss } from '../helpers/label-loss.js';
import { FIXTURES_DIR, MODELS_DIR, gpt2MiniFixture, readJsonFixture } from '../helpers/shared.js';
import { maxAbsDiff, maxRelDiff } from '../helpers/tensors.js';

const fixture = gpt2MiniFixture();
const reference = readSafetensors(join(FIXTURES_DIR, 'gpt2-mini.safetensors')).tensors;
const tensor2d = ({ data, shape }: HostTensor) => tf.tensor2d(data, shape as [number, number]);
const realRows = (batch: number[][], lengths: number[]) => batch.map((row, b) => row.slice(0, lengths[b]));

/** Logits [B, T, V] flattened, for the real positions (prompt + length) of each row only. */
function realPositions(logits: Float32Array | Int32Array | Uint8Array, T: number, V: number, realLengths: number[]): number[] {
  return realLengths.flatMap((length, b) => Array.from(logits.subarray(b * T * V, (b * T + length) * V)));
}

for (const backend of ['wasm', 'cpu'] as const) {
  describe(`gpt2 parity with the reference implementation (${backend})`, () => {
    let model: FrozenModel;
    let batch: TokenBatch;

    before(async () => {
      await initBackend(backend);
      model = await loadFrozenModel(join(MODELS_DIR, 'gpt2-mini'));
      batch = tokenBatch(realRows(fixture.input_ids, fixture.lengths), fixture.pad_id, model.dims.vocabSize);
    });
    after(() => {
      tf.dispose(batch.ids);
      model.dispose();
    });

    test('logits with the fixture prompt are within 1e-4 of the reference', async () => {
      const prompt = tensor2d(reference.get('prompt')!);
      const hidden = model.hiddenStates(batch, prompt);
      const [B, T, d] = hidden.shape;
      const logits = model.logits(tf.reshape(hidden, [B * T, d]));
      const V = model.dims.vocabSize;
      const real = fixture.lengths.map((length) => fixture.n + length);
      const diff = maxAbsDiff(realPositions(await logits.data(), T, V, real), realPositions(reference.get('logits')!.data, T, V, real));
      tf.dispose([prompt, hidden, logits]);
      assert.ok(diff < 1e-4, `max abs diff ${diff}`);
    });

    for (const method of ['pt', 'lopt1', 'lopt2'] as const) {
      test(`${method}: label logits and loss of its materialised prompt match`, async () => {
        const prompt = tensor2d(reference.get(`${method}.X`)!);
        const { labelLogits, loss } = labelWordLoss(model, batch, prompt, fixture.label_ids, fixture.labels);
        const expected = fixture.methods[method];
        assert.ok(maxAbsDiff(await labelLogits.data(), expected.label_logits.flat()) < 1e-4);
        assert.ok(Math.abs((await loss.data())[0]! - expected.loss) < 1e-4);
        tf.dispose([prompt, labelLogits, loss]);
      });
    }

    test('the gradient of the loss with respect to the prompt is within 1e-4 relative', async () => {
      const prompt = tensor2d(reference.get('pt.X')!);
      const lossOf = (x: tf.Tensor) => labelWordLoss(model, batch, x as tf.Tensor2D, fixture.label_ids, fixture.labels).loss;
      const { value, grad: gradient } = tf.valueAndGrad(lossOf)(prompt);
      const error = maxRelDiff(await gradient.data(), reference.get('pt.grad.X')!.data);
      assert.ok(Math.abs((await value.data())[0]! - fixture.methods.pt.loss) < 1e-4);
      assert.ok(error < 1e-4, `relative error ${error}`);
      tf.dispose([prompt, value, gradient]);
    });
  });
}

test('tiny-gpt2-random logits match the reference (HF-written, transformer.-prefixed, vocab 50257)', async () => {
  await initBackend('wasm');
  const model = await loadFrozenModel(join(MODELS_DIR, 'tiny-gpt2-random'));
  const ids = readJsonFixture<{ 'tiny-gpt2-random': { input_ids: number[] } }>('fixtures.json')['tiny-gpt2-random'].input_ids;
  const batch = tokenBatch([ids], 0, model.dims.vocabSize);
  const hidden = model.hiddenStates(batch);
  const logits = model.logits(tf.reshape(hidden, [ids.length, model.dims.hiddenSize]));
  const expected = readSafetensors(join(FIXTURES_DIR, 'tiny-gpt2-random.safetensors')).tensors.get('logits')!;
  assert.ok(maxAbsDiff(await logits.data(), expected.data) < 1e-4);
  tf.dispose([batch.ids, hidden, logits]);
  model.dispose();
});
