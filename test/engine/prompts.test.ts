import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { resolvePromptSpec, trainableParameterCount, type PromptSpec } from '../../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../../src/engine/prompts/soft-prompt.js';
import { classificationLoss } from '../../src/engine/tasks/classification.js';
import { tf } from '../../src/engine/tf.js';
import { loadGpt2Mini, type LoadedModel } from '../helpers/engine-fixtures.js';
import { gpt2MiniFixture } from '../helpers/shared.js';
import { maxAbsDiff } from '../helpers/tensors.js';

let loaded: LoadedModel;
before(async () => {
  loaded = await loadGpt2Mini();
});
after(() => loaded.model.dispose());

const make = (spec: PromptSpec) => SoftPrompt.initialise(resolvePromptSpec(spec, loaded.model.dims.hiddenSize), loaded.model, (t) => loaded.tokenizer.encode(t));
const values = async (prompt: SoftPrompt) => [...(await prompt.parameterValues()).values()].flatMap((t) => Array.from(t.data));

test('parameter counts are exactly nd, r(n+d) and 2rd', () => {
  for (const d of [2, 256, 1280]) {
    for (const n of [1, 5, 20, 100]) {
      assert.equal(trainableParameterCount({ method: 'pt', n, r: 0 }, d), n * d);
      for (const r of [1, 2, 5]) {
        assert.equal(trainableParameterCount({ method: 'lopt1', n, r }, d), r * (n + d));
        assert.equal(trainableParameterCount({ method: 'lopt2', n, r }, d), 2 * r * d);
      }
    }
  }
  assert.equal(trainableParameterCount({ method: 'lopt1', n: 20, r: 4 }, 256), 1104); // the model card's LoPT-1
});

test('the count equals the size of the variables that train, and only they are trainable', async () => {
  for (const spec of [{ method: 'pt', n: 7 }, { method: 'lopt1', n: 7, r: 3 }, { method: 'lopt2', n: 7, r: 3 }] as const) {
    const prompt = await make(spec);
    const size = prompt.variables.reduce((sum, { variable }) => sum + variable.size, 0);
    assert.equal(prompt.trainableParameters, size, spec.method);
    assert.ok(prompt.variables.every(({ variable }) => variable.trainable));
    const X = prompt.materialize();
    assert.deepEqual(X.shape, [7, 256]);
    tf.dispose(X);
    prompt.dispose();
  }
});

test('invalid specs are refused with the offending value', () => {
  const d = 256;
  const cases: Array<[PromptSpec, RegExp]> = [
    [{ method: 'lopt1', n: 5, r: 6 }, /lopt1 needs an integer rank 1 ≤ r ≤ min\(n, d\) = 5, got 6/],
    [{ method: 'lopt2', n: 5, r: 257 }, /lopt2 needs an integer rank 1 ≤ r ≤ d = 256, got 257/],
    [{ method: 'lopt1', n: 5 }, /got undefined/],
    [{ method: 'lopt1', n: 0, r: 1 }, /n must be an integer ≥ 1, got 0/],
    [{ method: 'pt', n: 5, r: 2 }, /r applies to lopt1 and lopt2 only/],
    [{ method: 'lora' as 'pt', n: 5 }, /method must be one of pt, lopt1, lopt2/],
    [{ method: 'lopt2', n: 5, r: 2, activation: 'swish' as 'tanh' }, /activation must be one of tanh, relu, sigmoid, gelu/],
    [{ method: 'pt', n: 5, init: 'text' }, /init "text" needs a non-empty initText/],
  ];
  for (const [spec, message] of cases) assert.throws(() => resolvePromptSpec(spec, d), message);
});

test('initialisation is seeded: the same seed gives the same prompt, another seed another', async () => {
  for (const method of ['pt', 'lopt1', 'lopt2'] as const) {
    for (const init of ['vocab', 'random'] as const) {
      const spec = { method, n: 6, ...(method === 'pt' ? {} : { r: 2 }), init };
      const [a, b, c] = [await make({ ...spec, seed: 3 }), await make({ ...spec, seed: 3 }), await make({ ...spec, seed: 4 })];
      assert.deepEqual(await values(a), await values(b), `${method} ${init}`);
      assert.ok(maxAbsDiff(await values(a), await values(c)) > 1e-3, `${method} ${init} seeds differ`);
      [a, b, c].forEach((p) => p.dispose());
    }
  }
});

test('vocab and text inits take rows of the embedding matrix; lopt1 starts from their best rank-r fit', async () => {
  const ids = loaded.tokenizer.encode(' great movie');
  const text = await make({ method: 'pt', n: 5, init: 'text', initText: ' great movie' });
  const picked = [0, 1, 0, 1, 0].map((i) => ids[i]!);
  const rows = tf.reshape(loaded.model.embed(tf.tensor2d(picked, [1, picked.length], 'int32')), [picked.length, -1]);
  assert.deepEqual(await values(text), Array.from(await rows.data()));
  // At full rank (r = n) the truncated SVD reproduces the init exactly (up to float error).
  const full = await make({ method: 'lopt1', n: 5, r: 5, init: 'text', initText: ' great movie' });
  const X = full.materialize();
  assert.ok(maxAbsDiff(await X.data(), await rows.data()) < 1e-4);
  tf.dispose([rows, X]);
  text.dispose();
  full.dispose();
});

test('gradients of U and V match central finite differences', async () => {
  const fixture = gpt2MiniFixture();
  const inputs = fixture.input_ids.map((row, b) => row.slice(0, fixture.lengths[b]));
  const labelTokens = fixture.label_ids.map((id) => [id]);
  for (const method of ['lopt1', 'lopt2'] as const) {
    const prompt = await make({ method, n: 4, r: 2, seed: 5 });
    const loss = () => classificationLoss(loaded.model, prompt.materialize(), inputs, fixture.labels, labelTokens);
    const { value, grads } = tf.variableGrads(loss, prompt.variables.map(({ variable }) => variable));
    value.dispose();
    for (const { name, variable } of prompt.variables) {
      const analytic = await grads[variable.name]!.data();
      const original = await variable.data();
      // The four largest gradient entries: well above float32 noise in the loss.
      const entries = Array.from(analytic.keys()).sort((a, b) => Math.abs(analytic[b]!) - Math.abs(analytic[a]!)).slice(0, 4);
      for (const i of entries) {
        const at = async (delta: number) => {
          const shifted = Float32Array.from(original);
          shifted[i]! += delta;
          tf.tidy(() => variable.assign(tf.tensor(shifted, variable.shape)));
          const l = loss();
          const out = (await l.data())[0]!;
          l.dispose();
          return out;
        };
        const eps = 1e-2;
        const numeric = ((await at(eps)) - (await at(-eps))) / (2 * eps);
        assert.ok(Math.abs(numeric - analytic[i]!) <= 2e-3 + 0.02 * Math.abs(analytic[i]!), `${method} ${name}[${i}]: ${numeric} vs ${analytic[i]}`);
      }
      tf.tidy(() => variable.assign(tf.tensor(original, variable.shape)));
    }
    tf.dispose(Object.values(grads));
    prompt.dispose();
  }
});
