import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { activeBackend, initBackend, parseNativeKernelsMode, type BackendName } from '../../src/engine/backend.js';
import type { FrozenModel } from '../../src/engine/models/frozen-model.js';
import { loadFrozenModel } from '../../src/engine/models/load-model.js';
import { attend, qkvWidth } from '../../src/engine/models/attention.js';
import { sequenceBatcher } from '../../src/engine/models/sequence-batch.js';
import { attendPattern, attentionPattern, type AttentionPatternSpec } from '../../src/engine/models/t5-attention.js';
import { planGemm } from '../../src/engine/native/gemm-plan.js';
import { loadNativeAddon } from '../../src/engine/native/native-addon.js';
import { resolvePromptSpec, type PromptMethod } from '../../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../../src/engine/prompts/soft-prompt.js';
import { Rng } from '../../src/engine/random.js';
import { classificationLoss } from '../../src/engine/tasks/classification.js';
import { objectiveFor } from '../../src/engine/tasks/objective.js';
import { TaskEncoder } from '../../src/engine/tasks/task-encoder.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { tf } from '../../src/engine/tf.js';
import { loadTokenizer } from '../../src/engine/tokenizer.js';
import { trainPrompt } from '../../src/engine/training/trainer.js';
import { allPositionsHidden, causal, sst2Rows } from '../helpers/engine-fixtures.js';
import { NATIVE_KERNELS_SKIP } from '../helpers/kernel-paths.js';
import { MODELS_DIR } from '../helpers/shared.js';
import { maxRelDiff } from '../helpers/tensors.js';

const MODEL_DIR = join(MODELS_DIR, 'gpt2-mini');

describe('planGemm maps matMuls onto indexed gemm calls', () => {
  test('plain, transposed and batched shapes', () => {
    assert.deepEqual(planGemm([4, 3], [3, 5], false, false), { outShape: [4, 5], aIndex: Int32Array.of(0), bIndex: Int32Array.of(0), aCount: 1, bCount: 1, m: 4, n: 5, k: 3 });
    const t = planGemm([2, 3, 4], [2, 5, 3], true, true)!;
    assert.deepEqual([t.outShape, t.m, t.n, t.k], [[2, 4, 5], 4, 5, 3]);
    assert.deepEqual([...t.aIndex, ...t.bIndex], [0, 1, 0, 1]);
  });

  test('batch dimensions broadcast as in TF.js, partially too', () => {
    const shared = planGemm([2, 3, 4, 8], [1, 3, 8, 5], false, false)!;
    assert.deepEqual(shared.outShape, [2, 3, 4, 5]);
    assert.deepEqual([...shared.aIndex], [0, 1, 2, 3, 4, 5]);
    assert.deepEqual([...shared.bIndex], [0, 1, 2, 0, 1, 2]);
    const lowerRank = planGemm([4, 8], [2, 8, 5], false, false)!;
    assert.deepEqual([lowerRank.outShape, [...lowerRank.aIndex], [...lowerRank.bIndex]], [[2, 4, 5], [0, 0], [0, 1]]);
  });

  test('cases it cannot run stay with the backend: mismatched inner sizes, empty operands, odd biases, unbroadcastable batches', () => {
    assert.equal(planGemm([4, 3], [4, 5], false, false), null);
    assert.equal(planGemm([0, 3], [3, 5], false, false), null);
    assert.equal(planGemm([4, 3], [3, 5], false, false, [4, 5]), null);
    assert.equal(planGemm([2, 4, 3], [3, 3, 5], false, false), null);
    assert.ok(planGemm([4, 3], [3, 5], false, false, [1, 5]));
  });
});

test('native kernel modes are parsed strictly', () => {
  assert.equal(parseNativeKernelsMode(undefined), 'auto');
  assert.throws(() => parseNativeKernelsMode('yes'), /unknown native kernels mode "yes"; expected auto, off, on/);
});

test('turned off, the backend keeps its own kernels and says so', async () => {
  const info = await initBackend('wasm', { nativeKernels: 'off' });
  assert.deepEqual(info.nativeKernels, { active: false, reason: 'turned off' });
  assert.equal(info.fastTransposedMatMul, false);
});

/**
 * Runs `compute` with TF.js's own kernels (on `reference`, by default the same backend) and on
 * `backend` with the addon's; returns both results.
 */
async function onBothPaths(backend: BackendName, compute: () => Promise<Float32Array[]>, reference = backend): Promise<{ builtin: Float32Array[]; native: Float32Array[] }> {
  await initBackend(reference, { nativeKernels: 'off' });
  const builtin = await compute();
  const info = await initBackend(backend, { nativeKernels: 'on' });
  assert.ok(info.nativeKernels.active && info.fastTransposedMatMul);
  const native = await compute();
  return { builtin, native };
}

function assertClose(actual: Float32Array[], expected: Float32Array[], what: string, tolerance = 1e-4): void {
  assert.equal(actual.length, expected.length);
  actual.forEach((values, i) => {
    const error = maxRelDiff(values, expected[i]!);
    assert.ok(error < tolerance, `${what} [${i}]: relative error ${error}`);
  });
}

describe('the OpenBLAS kernels compute what TF.js computes', { skip: NATIVE_KERNELS_SKIP }, () => {
  for (const backend of ['wasm', 'cpu'] as const) {
    test(`${backend}: matMul, batched, broadcast, transposed and fused with a bias, and its gradients`, async () => {
      const rng = new Rng(7);
      const random = (shape: number[]) => Float32Array.from({ length: shape.reduce((p, d) => p * d, 1) }, () => rng.next() * 2 - 1);
      const cases: Array<{ a: number[]; b: number[]; ta: boolean; tb: boolean; bias?: number[] }> = [
        { a: [37, 19], b: [19, 23], ta: false, tb: false },
        { a: [19, 37], b: [23, 19], ta: true, tb: true, bias: [23] },
        { a: [3, 4, 9, 8], b: [3, 4, 8, 6], ta: false, tb: false },
        { a: [2, 9, 8], b: [2, 6, 8], ta: false, tb: true },
        { a: [11, 16], b: [3, 16, 5], ta: false, tb: false },
        { a: [3, 11, 16], b: [3, 16, 5], ta: false, tb: false, bias: [5] },
      ];
      const data = cases.map(({ a, b, bias }) => ({ a: random(a), b: random(b), bias: bias && random(bias) }));
      const { builtin, native } = await onBothPaths(backend, async () => {
        const out: Float32Array[] = [];
        for (const [i, { a, b, ta, tb, bias }] of cases.entries()) {
          const [x, y] = [tf.tensor(data[i]!.a, a), tf.tensor(data[i]!.b, b)];
          const z = bias ? tf.tensor(data[i]!.bias!, bias) : undefined;
          const product = (p: tf.Tensor, q: tf.Tensor) => tf.fused.matMul({ a: p, b: q, transposeA: ta, transposeB: tb, ...(z ? { bias: z } : {}) });
          const value = product(x, y);
          // TF.js has no matMul gradient for broadcast batches: those cases check the forward pass only.
          const grads = a.length === b.length ? tf.grads((p: tf.Tensor, q: tf.Tensor) => tf.sum(tf.square(product(p, q))))([x, y]) : [];
          for (const t of [value, ...grads]) out.push((await t.data()) as Float32Array);
          tf.dispose([x, y, value, ...grads, ...(z ? [z] : [])]);
        }
        return out;
      }, 'cpu'); // TF.js 4.22's wasm _FusedMatMul adds the bias wrongly when both operands are transposed
      assertClose(native, builtin, 'matMul outputs and gradients');
    });

    test(`${backend}: gpt2-mini hidden states and prompt gradients, shared prompt and per-row prompts with padding`, async () => {
      const tokenizer = await loadTokenizer(MODEL_DIR);
      const sentences = (await sst2Rows(5)).map((row) => tokenizer.encode(row.fields.text!));
      const { builtin, native } = await onBothPaths(backend, async () => {
        const model = causal(await loadFrozenModel(MODEL_DIR));
        const out: Float32Array[] = [];
        for (const method of ['pt', 'lopt2'] as PromptMethod[]) {
          const prompt = await SoftPrompt.initialise(resolvePromptSpec({ method, n: 6, ...(method === 'pt' ? {} : { r: 3 }), seed: 3 }, model.dims.hiddenSize), model, (t) => tokenizer.encode(t));
          const { value, grads } = tf.variableGrads(
            () => classificationLoss(model, prompt.materialize(), sentences, [0, 1, 1, 0, 1], [[262], [1049]]),
            prompt.variables.map(({ variable }) => variable),
          );
          out.push((await value.data()) as Float32Array, ...(await Promise.all(Object.values(grads).map((g) => g.data() as Promise<Float32Array>))));
          const X = prompt.materialize();
          const { hidden, lengths, T } = allPositionsHidden(model, sentences.map((ids, b) => (b % 2 ? { prompt: X, ids } : { ids })));
          const d = model.dims.hiddenSize;
          const data = (await hidden.data()) as Float32Array;
          out.push(...lengths.map((length, b) => data.subarray(b * T * d, (b * T + length) * d))); // padding rows are unspecified
          tf.dispose([value, ...Object.values(grads), X, hidden]);
          prompt.dispose();
        }
        model.dispose();
        return out;
      });
      assertClose(native, builtin, 'loss, gradients and hidden states');
    });
  }

  test('cpu: causal attention of sequences after different prefixes (blocks read in place), grouped-query heads, and its gradients', async () => {
    const rng = new Rng(13);
    const random = (size: number) => Float32Array.from({ length: size }, () => rng.next() * 2 - 1);
    const shape = { heads: 4, kvHeads: 2, headSize: 3, scale: 0.5 };
    const [P, T, groups] = [3, 4, [2, 1, 2]];
    const B = groups.reduce((a, b) => a + b, 0);
    const width = qkvWidth(shape);
    // Every sequence is T long, so packed rows (the addon's) and padded rows (TF.js's) are the same rows.
    const data = { qkv: random(B * T * width), past: random(groups.length * P * width), weight: random(B * T * shape.heads * shape.headSize) };
    const { builtin, native } = await onBothPaths('cpu', async () => {
      const batch = sequenceBatcher(activeBackend().nativeKernels.active)(Array<number>(B).fill(T), T, P, groups);
      const [qkv, past] = [tf.tensor2d(data.qkv, [B * T, width]), tf.tensor2d(data.past, [groups.length * P, width])];
      const weight = tf.tensor2d(data.weight, [B * T, shape.heads * shape.headSize]);
      const native = activeBackend().nativeKernels.active;
      const loss = (x: tf.Tensor, p: tf.Tensor) => tf.sum(tf.mul(attend(x as tf.Tensor2D, batch, p as tf.Tensor2D, shape, native), weight)) as tf.Scalar;
      const context = attend(qkv, batch, past, shape, native);
      const grads = tf.grads(loss)([qkv, past]);
      const out = [context, ...grads].map((t) => t.dataSync() as Float32Array);
      tf.dispose([qkv, past, weight, context, ...grads, ...(batch.mask ? [batch.mask] : []), ...(batch.prefixGroups ?? []).flatMap((g) => (g.mask ? [g.mask] : []))]);
      return out;
    });
    assertClose(native, builtin, 'context and gradients of the rows and of each prefix block');
  });

  test("cpu: T5's biased attention over padded blocks (bidirectional, causal, cross) and its gradients, fused and separate operands", async () => {
    const rng = new Rng(11);
    const random = (size: number) => Float32Array.from({ length: size }, () => rng.next() * 2 - 1);
    const [H, hs] = [3, 4];
    const W = H * hs;
    const cases: AttentionPatternSpec[] = [
      { blocks: 3, queries: 5, keys: 5, keyLengths: [5, 2, 4], causal: false, bias: random(H * 25) },
      { blocks: 2, queries: 6, keys: 6, keyLengths: [6, 3], causal: true, bias: random(H * 36) },
      { blocks: 2, queries: 7, keys: 4, keyLengths: [4, 1], causal: false, bias: null },
    ];
    const data = cases.map(({ blocks, queries, keys }) => ({ q: random(blocks * queries * W), kv: random(blocks * keys * 2 * W), weight: random(blocks * queries * W) }));
    const { builtin, native } = await onBothPaths('cpu', async () => {
      const out: Float32Array[] = [];
      for (const [i, spec] of cases.entries()) {
        const { blocks, queries, keys } = spec;
        const pattern = attentionPattern(spec, H, hs, activeBackend().nativeKernels.active);
        const [q, kv] = [tf.tensor2d(data[i]!.q, [blocks * queries, W]), tf.tensor2d(data[i]!.kv, [blocks * keys, 2 * W])];
        const weight = tf.tensor2d(data[i]!.weight, [blocks * queries, W]);
        // Every query row, padding too, sees the same keys on both paths: all rows are compared.
        const loss = (context: tf.Tensor2D) => tf.sum(tf.mul(context, weight)) as tf.Scalar;
        const separate = tf.grads((a: tf.Tensor, b: tf.Tensor) => loss(attendPattern({ q: a as tf.Tensor2D, kv: b as tf.Tensor2D }, pattern)))([q, kv]);
        const context = attendPattern({ q, kv }, pattern);
        out.push((await context.data()) as Float32Array, ...(await Promise.all(separate.map((g) => g.data() as Promise<Float32Array>))));
        if (queries === keys) {
          const qkv = tf.concat([q, kv], 1);
          const fused = tf.grad((x: tf.Tensor) => loss(attendPattern({ qkv: x as tf.Tensor2D }, pattern)))(qkv);
          out.push((await fused.data()) as Float32Array);
          tf.dispose([qkv, fused]);
        }
        tf.dispose([q, kv, weight, context, ...separate, ...(pattern.scoresBias ? [pattern.scoresBias] : [])]);
      }
      return out;
    });
    assertClose(native, builtin, 'contexts and gradients');
  });

  test('wasm: three training steps follow the same losses and end at the same prompt', async () => {
    const tokenizer = await loadTokenizer(MODEL_DIR);
    const rows = await sst2Rows(12);
    const { builtin, native } = await onBothPaths('wasm', async () => {
      const model: FrozenModel = await loadFrozenModel(MODEL_DIR);
      const encoder = new TaskEncoder(TASK_CATALOG.sst2.task, tokenizer, { maxPositions: model.dims.maxPositions, promptRows: 10 });
      const prompt = await SoftPrompt.initialise(resolvePromptSpec({ method: 'lopt1', n: 10, r: 4, seed: 5 }, model.dims.hiddenSize), model, (t) => tokenizer.encode(t));
      const losses: number[] = [];
      await trainPrompt({
        prompt, objective: objectiveFor(encoder, model), train: encoder.encodeAll(rows),
        options: { batchSize: 4, maxSteps: 3, seed: 5 },
        callbacks: { onStepEnd: ({ loss }) => void losses.push(loss) },
      });
      const params = [...(await prompt.parameterValues()).values()].map(({ data }) => data);
      prompt.dispose();
      model.dispose();
      return [Float32Array.from(losses), ...params];
    });
    assertClose(native, builtin, 'losses and trained parameters');
  });

  test('the addon refuses arrays that do not match the sizes it is given', () => {
    const { addon } = loadNativeAddon();
    assert.ok(addon);
    const zero = Int32Array.of(0);
    assert.throws(() => addon.gemm(new Float32Array(6), new Float32Array(6), new Float32Array(3), null, zero, zero, 1, 1, 2, 2, 3, false, false), /does not match/);
    assert.throws(() => addon.geluBackward(new Float32Array(4), new Float32Array(3), new Float32Array(4)), /does not match/);
    assert.throws(
      () => addon.attentionForward(new Float32Array(12), null, new Float32Array(4), new Float32Array(4), Int32Array.of(0), 0, 1, 1, 2, 1, null),
      /every length must be at least 1/,
    );
    assert.throws(
      () => addon.attentionForward(new Float32Array(14), null, new Float32Array(6), new Float32Array(3), Int32Array.of(1), 0, 3, 2, 2, 1, null),
      /must divide the query heads/,
    );
    // A sequence after prefix block 1 needs two blocks of prefix rows; a negative block is refused.
    const oneBlock = [new Float32Array(6), new Float32Array(6), new Float32Array(2), new Float32Array(4)] as const;
    assert.throws(() => addon.attentionForward(...oneBlock, Int32Array.of(1), 1, 1, 1, 2, 1, Int32Array.of(1)), /does not match/);
    assert.throws(() => addon.attentionForward(...oneBlock, Int32Array.of(1), 1, 1, 1, 2, 1, Int32Array.of(-1)), /negative/);
    assert.throws(() => addon.swigluForward(new Float32Array(8), new Float32Array(3), 4), /does not match/);
    assert.throws(() => addon.rope(new Float32Array(8), new Float32Array(8), Int32Array.of(0), new Float32Array(2), 2, 3, false), /at most/);
  });

  test('stderr captured around a call is held back and handed to the caller, native writes included', () => {
    // In a child process: the test runner's own fd 2 stays untouched.
    const script = `import { withStderrCaptured } from './src/engine/native/stderr-capture.ts';
      import { loadNativeAddon } from './src/engine/native/native-addon.ts';
      process.stderr.write('before\\n');
      const { value, printed } = await withStderrCaptured(async () => {
        process.stderr.write('held back\\n');
        await new Promise((resolve) => setTimeout(resolve, 10));
        return 7;
      });
      process.stderr.write('after\\n');
      await withStderrCaptured(async () => { process.stderr.write('why it failed\\n'); throw new Error('failed'); }).catch(() => {});
      const { addon } = loadNativeAddon();
      addon.stderrCaptureBegin();
      let refused = '';
      try { addon.stderrCaptureBegin(); } catch (err) { refused = err.message; }
      addon.stderrCaptureEnd();
      process.stdout.write(JSON.stringify({ value, printed, refused }));`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { encoding: 'utf8', timeout: 30_000 });
    // A failed call's output is shown after all; a second capture while one is open is refused.
    assert.deepEqual(JSON.parse(child.stdout), { value: 7, printed: 'held back\n', refused: 'stderr is already being captured' });
    assert.equal(child.stderr, 'before\nafter\nwhy it failed\n');
  });
});
