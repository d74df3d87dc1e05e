/**
 * Parity of a decoder-only model with a family's reference fixture (../shared/fixtures/README.md):
 * logits with the fixture's prompt in front (the general path: every position), logits without a
 * prompt and greedy generation where the fixture has them, and for each prompt method its
 * materialised X, label logits, loss and parameter gradients (the shared-prefix path), on each
 * kernel path.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.js';
import type { CausalLanguageModel } from '../../src/engine/models/frozen-model.js';
import { loadFrozenModel } from '../../src/engine/models/load-model.js';
import { resolvePromptSpec, type PromptMethod } from '../../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../../src/engine/prompts/soft-prompt.js';
import type { HostTensor } from '../../src/engine/safetensors.js';
import { classificationLoss } from '../../src/engine/tasks/classification.js';
import { generateTokens } from '../../src/engine/tasks/generation.js';
import { tf } from '../../src/engine/tf.js';
import { allPositionsHidden, causal } from './engine-fixtures.js';
import type { KernelPath } from './kernel-paths.js';
import { maxAbsDiff, maxRelDiff } from './tensors.js';

export interface DecoderFixture {
  input_ids: number[][];
  lengths: number[];
  n: number;
  label_ids: number[];
  labels: number[];
  methods: Record<PromptMethod, { r: number | null; loss: number; label_logits: number[][]; trainable: number }>;
  generation?: { input_ids: number[]; steps: number; generated_ids: number[] };
}

export interface ParitySuite {
  /** For test names: the model and where its folder came from. */
  readonly label: string;
  readonly modelDir: string;
  readonly fixture: DecoderFixture;
  readonly reference: ReadonlyMap<string, HostTensor>;
  readonly paths: readonly KernelPath[];
}

/** The first `keep(b)` positions of each row b of a [B, T, V] array. */
function realRows(data: Float32Array, T: number, V: number, keep: (b: number) => number, rows: number): number[] {
  return Array.from({ length: rows }, (_, b) => Array.from(data.subarray(b * T * V, (b * T + keep(b)) * V))).flat();
}

export function decoderParitySuite({ label, modelDir, fixture, reference, paths }: ParitySuite): void {
  const inputs = fixture.input_ids.map((row, b) => row.slice(0, fixture.lengths[b]));
  const labelTokens = fixture.label_ids.map((id) => [id]);
  const tensor2d = ({ data, shape }: HostTensor) => tf.tensor2d(data, shape as [number, number]);

  /** The fixture's prompt of a method, from its stored parameters. */
  const fixturePrompt = (method: PromptMethod, d: number): SoftPrompt => {
    const { r } = fixture.methods[method];
    const spec = resolvePromptSpec({ method, n: fixture.n, ...(r ? { r } : {}) }, d);
    const names = method === 'lopt2' ? ['U', 'V', 'X0'] : method === 'lopt1' ? ['U', 'V'] : ['X'];
    return SoftPrompt.fromHostTensors(spec, d, new Map(names.map((name) => [name, reference.get(`${method}.${name}`)!])));
  };

  /** Logits [B·T, V] of every position with `prompt` (or none) in front of the fixture's sentences. */
  const allLogits = (model: CausalLanguageModel, prompt: tf.Tensor2D | undefined) => {
    const { hidden, T } = allPositionsHidden(model, inputs.map((ids) => ({ ...(prompt ? { prompt } : {}), ids })));
    const logits = tf.tidy(() => model.logits(tf.reshape(hidden, [-1, model.dims.hiddenSize])));
    hidden.dispose();
    return { logits, T };
  };

  for (const { backend, nativeKernels, label: path, skip } of paths) {
    describe(`${label} parity with the reference implementation (${path})`, { skip }, () => {
      let model: CausalLanguageModel;

      before(async () => {
        await initBackend(backend, { nativeKernels });
        model = causal(await loadFrozenModel(modelDir));
      });
      after(() => model?.dispose());

      if (reference.has('logits_plain')) {
        test('logits without a prompt are within 1e-4 of the reference', async () => {
          const { logits, T } = allLogits(model, undefined);
          const V = model.dims.vocabSize;
          const keep = (b: number) => fixture.lengths[b]!;
          const diff = maxAbsDiff(realRows((await logits.data()) as Float32Array, T, V, keep, inputs.length), realRows(reference.get('logits_plain')!.data, T, V, keep, inputs.length));
          logits.dispose();
          assert.ok(diff < 1e-4, `max abs diff ${diff}`);
        });
      }

      test('logits with the fixture prompt are within 1e-4 of the reference', async () => {
        const prompt = tensor2d(reference.get('prompt')!);
        const { logits, T } = allLogits(model, prompt);
        const V = model.dims.vocabSize;
        const keep = (b: number) => fixture.n + fixture.lengths[b]!;
        const diff = maxAbsDiff(realRows((await logits.data()) as Float32Array, T, V, keep, inputs.length), realRows(reference.get('logits')!.data, T, V, keep, inputs.length));
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
          const loss = (await value.data())[0]!;
          assert.ok(Math.abs(loss - expected.loss) < 1e-5, `loss ${loss}, reference ${expected.loss}`);
          for (const { name, variable } of prompt.variables) {
            const error = maxRelDiff(await grads[variable.name]!.data(), reference.get(`${method}.grad.${name}`)!.data);
            assert.ok(error < 1e-4, `${name}: relative error ${error}`);
          }
          tf.dispose([value, ...Object.values(grads)]);
          prompt.dispose();
        });
      }

      const { generation } = fixture;
      if (generation) {
        test(`greedy generation with the prompt gives the reference's ${generation.steps} ids, with the key/value cache and without`, async () => {
          const prompt = tensor2d(reference.get('prompt')!);
          const prefix = model.prefixState(prompt);
          const options = { maxNewTokens: generation.steps, stopTokenIds: [] };
          const [uncached] = await generateTokens(model, [{ prompt, input: generation.input_ids }], options);
          const [cached] = await generateTokens(model, [{ prefix, input: generation.input_ids }], options);
          prefix.dispose();
          prompt.dispose();
          assert.deepEqual(uncached, generation.generated_ids);
          assert.deepEqual(cached, generation.generated_ids);
        });
      }
    });
  }
}
