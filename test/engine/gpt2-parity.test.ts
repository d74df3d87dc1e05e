import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initBackend, shutdownBackend } from '../../src/engine/backend.js';
import type { FrozenModel } from '../../src/engine/models/frozen-model.js';
import { loadFrozenModel } from '../../src/engine/models/load-model.js';
import { resolvePromptSpec, type PromptMethod } from '../../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../../src/engine/prompts/soft-prompt.js';
import { readSafetensors, type HostTensor } from '../../src/engine/safetensors.js';
import { classificationLoss } from '../../src/engine/tasks/classification.js';
import { tf } from '../../src/engine/tf.js';
import { allPositionsHidden } from '../helpers/engine-fixtures.js';
import { KERNEL_PATHS, type KernelPath } from '../helpers/kernel-paths.js';
import { FIXTURES_DIR, MODELS_DIR, gpt2MiniFixture, readJsonFixture } from '../helpers/shared.js';
import { maxAbsDiff, maxRelDiff } from '../helpers/tensors.js';
import { webgpuUnavailable } from '../helpers/webgpu.js';

const fixture = gpt2MiniFixture();
const reference = readSafetensors(join(FIXTURES_DIR, 'gpt2-mini.safetensors')).tensors;
const inputs = fixture.input_ids.map((row, b) => row.slice(0, fixture.lengths[b]));
const labelTokens = fixture.label_ids.map((id) => [id]);
const tensor2d = ({ data, shape }: HostTensor) => tf.tensor2d(data, shape as [number, number]);

/** The fixture's prompt of a method, from its stored parameters. */
function fixturePrompt(method: PromptMethod, d: number): SoftPrompt {
  const { r } = fixture.methods[method];
  const spec = resolvePromptSpec({ method, n: fixture.n, ...(r ? { r } : {}) }, d);
  const names = method === 'lopt2' ? ['U', 'V', 'X0'] : method === 'lopt1' ? ['U', 'V'] : ['X'];
  return SoftPrompt.fromHostTensors(spec, d, new Map(names.map((name) => [name, reference.get(`${method}.${name}`)!])));
}

/** Logits [B·T, V] of every position with `prompt` in front of the fixture's sentences. */
function allLogits(model: FrozenModel, prompt: tf.Tensor2D): { logits: tf.Tensor2D; T: number } {
  const { hidden, T } = allPositionsHidden(model, inputs.map((ids) => ({ prompt, ids })));
  const logits = tf.tidy(() => model.logits(tf.reshape(hidden, [-1, model.dims.hiddenSize])));
  hidden.dispose();
  return { logits, T };
}

const webgpuSkip = await webgpuUnavailable();
after(shutdownBackend);

const PATHS: readonly KernelPath[] = [...KERNEL_PATHS, { backend: 'webgpu-software', nativeKernels: 'off', label: 'webgpu-software', skip: webgpuSkip }];
for (const { backend, nativeKernels, label, skip } of PATHS) {
  describe(`gpt2 parity with the reference implementation (${label})`, { skip }, () => {
    let model: FrozenModel;

    before(async () => {
      await initBackend(backend, { nativeKernels });
      model = await loadFrozenModel(join(MODELS_DIR, 'gpt2-mini'));
    });
    after(() => model.dispose());

    test('logits with the fixture prompt are within 1e-4 of the reference', async () => {
      const prompt = tensor2d(reference.get('prompt')!);
      const { logits, T } = allLogits(model, prompt);
      const V = model.dims.vocabSize;
      const realRows = (data: Float32Array) =>
        fixture.lengths.flatMap((length, b) => Array.from(data.subarray(b * T * V, (b * T + fixture.n + length) * V)));
      const diff = maxAbsDiff(realRows((await logits.data()) as Float32Array), realRows(reference.get('logits')!.data));
      tf.dispose([prompt, logits]);
      assert.ok(diff < 1e-4, `max abs diff ${diff}`);
    });

    for (const method of ['pt', 'lopt1', 'lopt2'] as const) {
      test(`${method}: materialised X, label logits, loss and parameter gradients match`, async () => {
        const prompt = fixturePrompt(method, model.dims.hiddenSize);
        const expected = fixture.methods[method];
        assert.equal(prompt.trainableParameters, expected.trainable);

        const X = prompt.materialize();
        assert.ok(maxAbsDiff(await X.data(), reference.get(`${method}.X`)!.data) < 1e-5);
        const { logits, T } = allLogits(model, X);
        const data = (await logits.data()) as Float32Array;
        const V = model.dims.vocabSize;
        const labelLogits = fixture.lengths.flatMap((length, b) => fixture.label_ids.map((id) => data[(b * T + fixture.n + length - 1) * V + id]!));
        assert.ok(maxAbsDiff(labelLogits, expected.label_logits.flat()) < 1e-4);
        tf.dispose([X, logits]);

        const { value, grads } = tf.variableGrads(
          () => classificationLoss(model, prompt.materialize(), inputs, fixture.labels, labelTokens),
          prompt.variables.map(({ variable }) => variable),
        );
        assert.ok(Math.abs((await value.data())[0]! - expected.loss) < 1e-4);
        for (const { name, variable } of prompt.variables) {
          const error = maxRelDiff(await grads[variable.name]!.data(), reference.get(`${method}.grad.${name}`)!.data);
          assert.ok(error < 1e-4, `${name}: relative error ${error}`);
        }
        tf.dispose([value, ...Object.values(grads)]);
        prompt.dispose();
      });
    }
  });
}

for (const backend of ['wasm', 'webgpu-software'] as const) {
  test(`tiny-gpt2-random logits match the reference (HF-written, transformer.-prefixed, vocab 50257; ${backend})`, { skip: backend === 'webgpu-software' && webgpuSkip }, async () => {
    await initBackend(backend);
    const model = await loadFrozenModel(join(MODELS_DIR, 'tiny-gpt2-random'));
    const ids = readJsonFixture<{ 'tiny-gpt2-random': { input_ids: number[] } }>('fixtures.json')['tiny-gpt2-random'].input_ids;
    const { hidden } = allPositionsHidden(model, [{ ids }]);
    const logits = model.logits(tf.reshape(hidden, [ids.length, model.dims.hiddenSize]));
    const expected = readSafetensors(join(FIXTURES_DIR, 'tiny-gpt2-random.safetensors')).tensors.get('logits')!;
    assert.ok(maxAbsDiff(await logits.data(), expected.data) < 1e-4);
    tf.dispose([hidden, logits]);
    model.dispose();
  });
}
