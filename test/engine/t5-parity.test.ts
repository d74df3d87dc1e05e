import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { initBackend, shutdownBackend } from '../../src/engine/backend.js';
import { loadFrozenModel } from '../../src/engine/models/load-model.js';
import { relativePositionBucket } from '../../src/engine/models/relative-position.js';
import { T5Model } from '../../src/engine/models/t5.js';
import { resolvePromptSpec, type PromptMethod } from '../../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../../src/engine/prompts/soft-prompt.js';
import { readSafetensors, type HostTensor } from '../../src/engine/safetensors.js';
import { flatLabelScores } from '../../src/engine/tasks/classification.js';
import { generateTokens } from '../../src/engine/tasks/generation.js';
import { targetLoss } from '../../src/engine/tasks/text-to-text.js';
import { tf } from '../../src/engine/tf.js';
import { KERNEL_PATHS } from '../helpers/kernel-paths.js';
import { FIXTURES_DIR, MODELS_DIR, readJsonFixture } from '../helpers/shared.js';
import { maxAbsDiff, maxRelDiff } from '../helpers/tensors.js';
import { webgpuUnavailable } from '../helpers/webgpu.js';

interface T5Fixture {
  input_ids: number[][];
  lengths: number[];
  n: number;
  labels: number[][];
  decoder_input_ids: number[][];
  prompt_loss: number;
  methods: Record<PromptMethod, { r: number | null; loss: number; trainable: number }>;
  generation: { input_ids: number[]; steps: number; generated_ids: number[] };
  relative_position_buckets: { num_buckets: number; max_distance: number; relative_position: number[]; encoder_bidirectional: number[]; decoder_causal: number[] };
}

const fixture = readJsonFixture<T5Fixture>('t5.json');
const reference = readSafetensors(join(FIXTURES_DIR, 't5.safetensors')).tensors;
const inputs = fixture.input_ids.map((row, b) => row.slice(0, fixture.lengths[b]));
const targets = fixture.labels.map((row) => row.filter((id) => id !== -100));
const tensor2d = ({ data, shape }: HostTensor) => tf.tensor2d(data, shape as [number, number]);
const webgpuSkip = await webgpuUnavailable();
after(shutdownBackend);

test("relative-position buckets are Hugging Face's, both ways", () => {
  const { num_buckets, max_distance, relative_position, encoder_bidirectional, decoder_causal } = fixture.relative_position_buckets;
  assert.deepEqual(relative_position.map((r) => relativePositionBucket(r, true, num_buckets, max_distance)), encoder_bidirectional);
  assert.deepEqual(relative_position.map((r) => relativePositionBucket(r, false, num_buckets, max_distance)), decoder_causal);
});

/** The fixture's prompt of a method, from its stored parameters. */
function fixturePrompt(method: PromptMethod, d: number): SoftPrompt {
  const { r } = fixture.methods[method];
  const spec = resolvePromptSpec({ method, n: fixture.n, ...(r ? { r } : {}) }, d);
  const names = method === 'lopt2' ? ['U', 'V', 'X0'] : method === 'lopt1' ? ['U', 'V'] : ['X'];
  return SoftPrompt.fromHostTensors(spec, d, new Map(names.map((name) => [name, reference.get(`${method}.${name}`)!])));
}

const PATHS = [...KERNEL_PATHS, { backend: 'webgpu-software' as const, nativeKernels: 'off' as const, label: 'webgpu-software', skip: webgpuSkip }];
for (const { backend, nativeKernels, label, skip } of PATHS) {
  describe(`tiny-t5-random parity with the reference implementation (${label})`, { skip }, () => {
    let model: T5Model;
    before(async () => {
      await initBackend(backend, { nativeKernels });
      const loaded = await loadFrozenModel(join(MODELS_DIR, 'tiny-t5-random'));
      assert.ok(loaded instanceof T5Model);
      model = loaded;
    });
    after(() => model?.dispose());

    test('encoder output with the prompt in front is within 1e-4 of the reference', async () => {
      const prompt = tensor2d(reference.get('prompt')!);
      const hidden = model.encoderStates(inputs.map((input) => ({ prompt, input })));
      const [, T, d] = hidden.shape;
      const real = (data: Float32Array) => fixture.lengths.flatMap((length, b) => Array.from(data.subarray(b * T * d, (b * T + fixture.n + length) * d)));
      const diff = maxAbsDiff(real((await hidden.data()) as Float32Array), real(reference.get('encoder_hidden')!.data));
      tf.dispose([prompt, hidden]);
      assert.ok(diff < 1e-4, `max abs diff ${diff}`);
    });

    for (const withPrompt of [true, false]) {
      test(`decoder logits ${withPrompt ? 'with the prompt' : 'without a prompt'} are within 1e-4 of the reference at every position`, async () => {
        const prompt = tensor2d(reference.get('prompt')!);
        const rows = inputs.map((input, b) => ({ ...(withPrompt ? { prompt } : {}), input, continuation: fixture.decoder_input_ids[b]!.slice(1) }));
        const logits = tf.tidy(() => model.logits(model.predictiveStates(rows)));
        const diff = maxAbsDiff(await logits.data(), reference.get(withPrompt ? 'logits' : 'logits_plain')!.data);
        tf.dispose([prompt, logits]);
        assert.ok(diff < 1e-4, `max abs diff ${diff}`);
      });
    }

    test("the prompt's seq2seq loss is Hugging Face's (a mean over every label token)", async () => {
      const prompt = tensor2d(reference.get('prompt')!);
      const loss = targetLoss(model, prompt, inputs.map((input, b) => ({ input, target: targets[b]! })));
      const value = (await loss.data())[0]!;
      tf.dispose([prompt, loss]);
      assert.ok(Math.abs(value - fixture.prompt_loss) < 1e-5, `loss ${value}, reference ${fixture.prompt_loss}`);
    });

    for (const method of ['pt', 'lopt1', 'lopt2'] as const) {
      test(`${method}: materialised X, loss and parameter gradients match`, async () => {
        const prompt = fixturePrompt(method, model.dims.hiddenSize);
        assert.equal(prompt.trainableParameters, fixture.methods[method].trainable);
        const X = prompt.materialize();
        assert.ok(maxAbsDiff(await X.data(), reference.get(`${method}.X`)!.data) < 1e-5);
        X.dispose();
        const { value, grads } = tf.variableGrads(
          () => targetLoss(model, prompt.materialize(), inputs.map((input, b) => ({ input, target: targets[b]! }))),
          prompt.variables.map(({ variable }) => variable),
        );
        const loss = (await value.data())[0]!;
        assert.ok(Math.abs(loss - fixture.methods[method].loss) < 1e-5, `loss ${loss}, reference ${fixture.methods[method].loss}`);
        for (const { name, variable } of prompt.variables) {
          const error = maxRelDiff(await grads[variable.name]!.data(), reference.get(`${method}.grad.${name}`)!.data);
          assert.ok(error < 1e-4, `${name}: relative error ${error}`);
        }
        tf.dispose([value, ...Object.values(grads)]);
        prompt.dispose();
      });
    }

    test('a label scores as the decoder output word + </s>, and labels of one input share its encoder pass', async () => {
      const prompt = tensor2d(reference.get('prompt')!);
      const words = targets.map((target) => target.slice(0, -1)); // "positive", "negative" without </s>
      const scores = flatLabelScores(model, inputs.map((input) => ({ prompt, input, labelTokens: words })));
      const expected: number[] = [];
      for (const input of inputs) {
        for (const target of targets) {
          const loss = targetLoss(model, prompt, [{ input, target }]);
          expected.push(-(await loss.data())[0]! * target.length);
          loss.dispose();
        }
      }
      const diff = maxAbsDiff(await scores.data(), expected);
      // Inputs with different label counts share no regular grouping: each decoder row picks its encoder rows.
      const mixed = flatLabelScores(model, [{ prompt, input: inputs[0]!, labelTokens: words }, { prompt, input: inputs[1]!, labelTokens: words.slice(1) }]);
      const mixedDiff = maxAbsDiff(await mixed.data(), [expected[0]!, expected[1]!, expected[3]!]);
      tf.dispose([prompt, scores, mixed]);
      assert.ok(diff < 1e-4, `max abs diff ${diff}`);
      assert.ok(mixedDiff < 1e-4, `max abs diff ${mixedDiff} (picked rows)`);
    });

    test(`greedy generation from the decoder start with the prompt gives the reference's ${fixture.generation.steps} ids`, async () => {
      const prompt = tensor2d(reference.get('prompt')!);
      const [ids] = await generateTokens(model, [{ prompt, input: fixture.generation.input_ids }], { maxNewTokens: fixture.generation.steps, stopTokenIds: [] });
      prompt.dispose();
      assert.deepEqual(ids, fixture.generation.generated_ids);
    });
  });
}
