import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { WebGPUBackend } from '@tensorflow/tfjs-backend-webgpu';
import { activeBackend, assertBackendHealthy, initBackend, shutdownBackend } from '../../src/engine/backend.js';
import type { EngineError } from '../../src/engine/engine-error.js';
import { resolvePromptSpec } from '../../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../../src/engine/prompts/soft-prompt.js';
import type { HostTensor } from '../../src/engine/safetensors.js';
import { objectiveFor } from '../../src/engine/tasks/objective.js';
import { TaskEncoder, type EncodedExample } from '../../src/engine/tasks/task-encoder.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { tf } from '../../src/engine/tf.js';
import { trainPrompt } from '../../src/engine/training/trainer.js';
import { loadGpt2Mini, sst2Rows, type LoadedModel } from '../helpers/engine-fixtures.js';
import { NATIVE_KERNELS_SKIP } from '../helpers/kernel-paths.js';
import { maxAbsDiff } from '../helpers/tensors.js';
import { webgpuUnavailable } from '../helpers/webgpu.js';

const skip = await webgpuUnavailable();
const isCode = (code: string, message: RegExp) => (err: EngineError) => err.code === code && message.test(err.message);
after(shutdownBackend);

describe('WebGPU on a software adapter', { skip }, () => {
  test('the adapter and its limits are reported, and only a request by name uses a software one', async () => {
    const info = await initBackend('webgpu-software');
    assert.equal(info.tfjsName, 'webgpu');
    assert.equal(info.fastTransposedMatMul, true);
    assert.equal(info.adapter?.software, true);
    assert.match(info.adapter!.description, /llvmpipe/);
    assert.equal(info.adapter!.maxStorageBufferBindingSize, 128 * 2 ** 20);

    // Without a GPU's device files Dawn is not even loaded; with them, it finds only the software adapter.
    await assert.rejects(initBackend('webgpu'), /backend "webgpu" was asked for but cannot start: (no GPU on this machine|the only WebGPU adapter is a software one \(llvmpipe)/);
    const auto = await initBackend('auto');
    assert.notEqual(auto.name, 'webgpu');
    assert.match(auto.skipped.find((s) => s.name === 'webgpu')!.reason, /no GPU on this machine|software one/);
  });

  describe('training parity with wasm', () => {
    const steps = async (backend: 'wasm' | 'webgpu-software', start?: Map<string, HostTensor>) => {
      const loaded = await loadGpt2Mini(backend);
      const encoder = new TaskEncoder(TASK_CATALOG.sst2.task, loaded.tokenizer, { maxPositions: loaded.model.dims.maxPositions, promptRows: 4 });
      const train: EncodedExample[] = encoder.encodeAll(await sst2Rows(12));
      const prompt = await SoftPrompt.initialise(resolvePromptSpec({ method: 'lopt1', n: 4, r: 2, seed: 3 }, 256), loaded.model, (t) => loaded.tokenizer.encode(t));
      if (start) prompt.assign(start);
      const initial = await prompt.parameterValues();
      const losses: number[] = [];
      const stepSeconds: number[] = [];
      let last = performance.now();
      await trainPrompt({
        prompt, objective: objectiveFor(encoder, loaded.model), train,
        options: { batchSize: 4, maxSteps: 3, learningRate: 0.05, seed: 1 },
        callbacks: { onStepEnd: ({ loss }) => {
          losses.push(loss);
          stepSeconds.push((performance.now() - last) / 1000);
          last = performance.now();
        } },
      });
      const values = [...(await prompt.parameterValues()).values()].flatMap((t) => Array.from(t.data));
      prompt.dispose();
      loaded.model.dispose();
      return { initial, losses, values, stepSeconds };
    };

    test('three AdamW steps give the same losses and prompt as on wasm', async () => {
      const wasm = await steps('wasm');
      const webgpu = await steps('webgpu-software', wasm.initial);
      console.log(`step seconds: wasm ${wasm.stepSeconds.map((s) => s.toFixed(2))}, webgpu-software ${webgpu.stepSeconds.map((s) => s.toFixed(2))}; max abs diff: losses ${maxAbsDiff(webgpu.losses, wasm.losses)}, prompt ${maxAbsDiff(webgpu.values, wasm.values)}`);
      assert.ok(maxAbsDiff(webgpu.losses, wasm.losses) < 1e-4, `losses ${webgpu.losses} vs ${wasm.losses}`);
      assert.ok(maxAbsDiff(webgpu.values, wasm.values) < 1e-4);
    });
  });

  describe('a tensor over the binding limit', () => {
    let loaded: LoadedModel;
    before(async () => {
      loaded = await loadGpt2Mini('webgpu-software');
    });
    after(() => loaded.model.dispose());

    test('is refused by the model before it runs, naming the tensor and the limit', () => {
      const { model } = loaded;
      const before = tf.memory().numTensors;
      // 300 rows × 128 positions × 1024 MLP units × 4 bytes = 150 MiB > 128 MiB
      const inputs = tf.zeros([300, 128, 256]) as tf.Tensor3D;
      assert.throws(() => model.transform(inputs, Array(300).fill(128)), isCode('TENSOR_TOO_LARGE', /the batch's MLP activations \(B·T, inner\) \[38400, 1024\] would take 150\.0 MiB, over the 128\.0 MiB one GPU buffer may bind on llvmpipe/));
      const hidden = tf.zeros([4097, 256]) as tf.Tensor2D;
      assert.throws(() => model.logits(hidden), isCode('TENSOR_TOO_LARGE', /the logits \(rows, V\) \[4097, 8192\]/));
      tf.dispose([inputs, hidden]);
      assert.equal(tf.memory().numTensors, before);
      assertBackendHealthy();
    });

    test('that slips past the guard fails the next check instead of handing back wrong numbers', async () => {
      const huge = tf.fill([33 * 2 ** 20 + 1], 1); // 132 MiB
      const sum = tf.add(huge, 1);
      await sum.data();
      assert.throws(assertBackendHealthy, isCode('DEVICE_FAILED', /the GPU failed, so results computed since cannot be trusted: GPUValidationError: Binding size \(\d+\) .* is larger than the maximum storage buffer binding size/));
      tf.dispose([huge, sum]);
      await initBackend('webgpu-software'); // a fresh device
      assertBackendHealthy();
    });
  });

  test('a lost device fails the next check with the reason', async () => {
    await initBackend('webgpu-software');
    (tf.backend() as WebGPUBackend).device.destroy();
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.throws(assertBackendHealthy, isCode('DEVICE_FAILED', /the GPU device was lost \(destroyed\)/));
    shutdownBackend();
    assert.throws(activeBackend, /no backend started/);
    assert.equal((globalThis as { navigator?: unknown }).navigator, undefined);
  });

  test('a process that shuts the backend down exits by itself, and Dawn\'s start-up notices stay out of its stderr', () => {
    const script = `import { initBackend, shutdownBackend } from './src/engine/backend.ts';
      import { tf } from './src/engine/tf.ts';
      await initBackend('webgpu-software');
      await tf.square(tf.scalar(3)).data();
      shutdownBackend();`;
    const child = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], { encoding: 'utf8', timeout: 30_000 });
    assert.equal(child.status, 0, child.stderr);
    // They are held back through the native addon; without it they print as before.
    if (!NATIVE_KERNELS_SKIP) assert.doesNotMatch(child.stderr, /artificially reduced/);
  });
});
