import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import { initBackend, shutdownBackend } from '../../src/engine/backend.js';
import type { EngineError } from '../../src/engine/engine-error.js';
import { classify } from '../../src/engine/infer.js';
import { generateTokens } from '../../src/engine/tasks/generation.js';
import type { ContinuedRow } from '../../src/engine/models/frozen-model.js';
import { loadFrozenModel } from '../../src/engine/models/load-model.js';
import { Rng } from '../../src/engine/random.js';
import { tf } from '../../src/engine/tf.js';
import { causal } from '../helpers/engine-fixtures.js';
import { KERNEL_PATHS } from '../helpers/kernel-paths.js';
import { MODELS_DIR } from '../helpers/shared.js';
import { maxAbsDiff } from '../helpers/tensors.js';

after(shutdownBackend);

/** Token ids of `count` rows of 3 … 7 tokens each, below `vocab`. */
function randomInputs(rng: Rng, count: number, vocab: number): number[][] {
  return Array.from({ length: count }, () => Array.from({ length: 3 + rng.int(5) }, () => rng.int(vocab)));
}

for (const family of ['gpt2-mini', 'tiny-llama-random']) {
  describe(`cached prefix states: ${family}`, () => {
    for (const path of KERNEL_PATHS.filter(({ backend }) => backend === 'wasm')) {
      test(`${path.label}: mixed prompts in one batch, in any order, give the states, predictions and generations of the uncached passes`, { skip: path.skip }, async () => {
        await initBackend(path.backend, { nativeKernels: path.nativeKernels });
        const model = causal(await loadFrozenModel(join(MODELS_DIR, family)));
        const rng = new Rng(11);
        const d = model.dims.hiddenSize;
        const prompts = [1, 2, 3].map((seed) => tf.randomNormal([5, d], 0, 0.3, 'float32', seed) as tf.Tensor2D);
        const states = prompts.map((prompt) => model.prefixState(prompt));
        // Runs of the same prompt, and one prompt again after others: four groups.
        const owner = [0, 0, 1, 2, 2, 0];
        const inputs = randomInputs(rng, owner.length, model.dims.vocabSize);
        const rows = (cached: boolean): ContinuedRow[] =>
          inputs.map((input, b) => ({ prompt: prompts[owner[b]!]!, ...(cached ? { prefix: states[owner[b]!]! } : {}), input: input.slice(0, -2), continuation: input.slice(-2) }));
        const [uncached, cached] = [rows(false), rows(true)].map((batch) => model.predictiveStates(batch));
        assert.deepEqual(cached!.shape, uncached!.shape);
        const stateDiff = maxAbsDiff(await cached!.data(), await uncached!.data());
        assert.ok(stateDiff < 1e-4, `hidden states differ by ${stateDiff}`);

        // Every row after one cached prompt equals the shared-prompt pass of training.
        const one = inputs.map((input) => ({ prompt: prompts[1]!, input, continuation: [] }));
        const shared = await model.predictiveStates(one).data();
        const alone = await model.predictiveStates(one.map((row) => ({ ...row, prefix: states[1]! }))).data();
        assert.ok(maxAbsDiff(alone, shared) < 1e-4, 'one shared prompt');

        const labelTokens = [[rng.int(model.dims.vocabSize)], [rng.int(model.dims.vocabSize)], [rng.int(model.dims.vocabSize), rng.int(model.dims.vocabSize)]];
        const requests = (cached: boolean) => inputs.map((input, b) => ({ prompt: prompts[owner[b]!]!, ...(cached ? { prefix: states[owner[b]!]! } : {}), input, labels: ['a', 'b', 'c'], labelTokens }));
        const [plain, fast] = [await classify(model, requests(false)), await classify(model, requests(true))];
        fast.forEach((prediction, b) => {
          assert.equal(prediction.label, plain[b]!.label);
          for (const label of ['a', 'b', 'c']) assert.ok(Math.abs(prediction.probabilities[label]! - plain[b]!.probabilities[label]!) < 1e-5, `row ${b}, label ${label}`);
        });

        const shorter = model.prefixState(tf.randomNormal([3, d], 0, 0.3, 'float32', 9) as tf.Tensor2D);
        assert.throws(
          () => model.predictiveStates([{ prefix: states[0]!, input: [1, 2], continuation: [] }, { prefix: shorter, input: [1, 2], continuation: [] }]),
          (err: EngineError) => err.code === 'BAD_ARGUMENT' && /same rows, got \[5, 3\]/.test(err.message),
        );
        // Generation after the cached states, with the key/value cache and without: token for token,
        // for rows of different prompts and input lengths, greedy and sampled with a seed.
        const items = inputs.map((input, b) => ({ prefix: states[owner[b]!]!, input }));
        const stop = [model.dims.vocabSize - 1]; // gpt2-mini's <|endoftext|>
        for (const sampling of [undefined, { temperature: 0.9, topK: 50, topP: 0.95, seed: 7 }]) {
          const options = { maxNewTokens: 24, stopTokenIds: stop, ...(sampling ? { sampling } : {}) };
          const heard: number[][] = inputs.map(() => []);
          const withCache = await generateTokens(model, items, { ...options, onTokens: (tokens) => tokens.forEach(({ row, token }) => heard[row]!.push(token)) });
          const without = await generateTokens(model, items, { ...options, cache: false });
          assert.deepEqual(withCache, without, sampling ? 'sampled' : 'greedy');
          assert.deepEqual(heard, withCache, 'the tokens heard as they came are the output');
          assert.ok(withCache.every((ids) => ids.length <= 24 && !ids.includes(stop[0]!)), 'rows end at maxNewTokens or before their stop id');
          assert.deepEqual(await generateTokens(model, items, options), withCache, 'the same seed gives the same output');
        }
        const greedy = await generateTokens(model, items, { maxNewTokens: 24, stopTokenIds: stop });
        const sampled = await generateTokens(model, items, { maxNewTokens: 24, stopTokenIds: stop, sampling: { temperature: 1.5, seed: 3 } });
        assert.notDeepEqual(sampled, greedy, 'sampling at a high temperature departs from greedy');

        for (const state of [...states, shorter]) state.dispose();
        tf.dispose([...prompts, uncached!, cached!]);
        model.dispose();
      });
    }
  });
}
