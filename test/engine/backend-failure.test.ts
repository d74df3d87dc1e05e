/**
 * The backend guard: out-of-memory and WebAssembly aborts during backend work become EngineError
 * BACKEND_FAILED, an abort marks the backend broken, and a broken backend refuses later work.
 * Its last test breaks this process's wasm backend on purpose, so it stays last, in its own file
 * (the test runner gives each file a process).
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { backendBroken, backendFailureOf, guardBackend } from '../../src/engine/backend-guard.js';
import { EngineError } from '../../src/engine/engine-error.js';
import { classify } from '../../src/engine/infer.js';
import { resolvePromptSpec } from '../../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../../src/engine/prompts/soft-prompt.js';
import { objectiveFor } from '../../src/engine/tasks/objective.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';
import { TaskEncoder } from '../../src/engine/tasks/task-encoder.js';
import { tf } from '../../src/engine/tf.js';
import { trainPrompt } from '../../src/engine/training/trainer.js';
import { WasmHeapExhaustedError } from '../../src/engine/wasm-heap.js';
import { loadGpt2Mini, sst2Rows, type LoadedModel } from '../helpers/engine-fixtures.js';

let loaded: LoadedModel;
before(async () => {
  loaded = await loadGpt2Mini('wasm');
});
after(() => loaded.model.dispose());

const WORK = { what: 'the test op', remedy: 'use a smaller one' };
const isBackendFailed = (message: RegExp) => (err: unknown) => err instanceof EngineError && err.code === 'BACKEND_FAILED' && message.test(err.message);

/** A real trap: a one-function module (one 64 KiB page of memory) that loads from address 70000. */
function wasmTrap(): Error {
  const bytes = new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version
    0x01, 0x05, 0x01, 0x60, 0x00, 0x01, 0x7f, // type: () -> i32
    0x03, 0x02, 0x01, 0x00, // one function of that type
    0x05, 0x03, 0x01, 0x00, 0x01, // memory: 1 page
    0x07, 0x05, 0x01, 0x01, 0x66, 0x00, 0x00, // export "f"
    0x0a, 0x0b, 0x01, 0x09, 0x00, 0x41, 0xf0, 0xa2, 0x04, 0x28, 0x02, 0x00, 0x0b, // i32.const 70000; i32.load; end
  ]);
  const wasm = (globalThis as unknown as { WebAssembly: { Instance: new (module: unknown) => { exports: { f(): number } }; Module: new (bytes: Uint8Array) => unknown } }).WebAssembly;
  try {
    new wasm.Instance(new wasm.Module(bytes)).exports.f();
  } catch (err) {
    return err as Error;
  }
  throw new Error('the module did not trap');
}

/** What Emscripten's abort() throws (TF.js's wasm build: `Aborted()` when C++ aborts, e.g. a failed `new`). */
function emscriptenAbort(): Error {
  const { RuntimeError } = (globalThis as unknown as { WebAssembly: { RuntimeError: new (message: string) => Error } }).WebAssembly;
  return new RuntimeError('Aborted(). Build with -sASSERTIONS for more info.');
}

function thrown(work: () => unknown): unknown {
  try {
    work();
  } catch (err) {
    return err;
  }
  throw new Error('nothing was thrown');
}

/** tf.add broadcasts to 2³⁰ floats: 4 GiB, one byte more than a wasm32 size can say (it would wrap to 0). */
const allocateFourGiB = () => tf.tidy(() => tf.add(tf.ones([32768, 1]), tf.ones([1, 32768])));

test('backend aborts and allocation failures are told from other errors, on the real error objects', () => {
  const trap = wasmTrap();
  assert.match(trap.message, /memory access out of bounds/);
  assert.deepEqual(backendFailureOf(trap), { kind: 'abort', detail: 'memory access out of bounds' });
  assert.equal(backendFailureOf(emscriptenAbort())?.kind, 'abort');
  assert.equal(backendFailureOf(thrown(() => new ArrayBuffer(2 ** 40)))?.kind, 'out-of-memory');
  assert.equal(backendFailureOf(thrown(() => new Float32Array(5e9)))?.kind, 'out-of-memory');
  const heap = thrown(allocateFourGiB);
  assert.ok(heap instanceof WasmHeapExhaustedError, String(heap));
  assert.equal(backendFailureOf(heap)?.kind, 'out-of-memory');
  for (const other of [new Error('boom'), new TypeError('x is undefined'), new RangeError('Maximum call stack size exceeded'), new EngineError('BAD_ARGUMENT', 'no')]) {
    assert.equal(backendFailureOf(other), null, other.message);
  }
});

test('an allocation the wasm heap cannot hold fails before anything is written: BACKEND_FAILED, and the backend stays sound', async () => {
  const tensors = tf.memory().numTensors;
  const heapBytes = (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength;
  await assert.rejects(
    guardBackend(WORK, async () => allocateFourGiB()),
    isBackendFailed(/^the test op needs more memory than the wasm backend has \(the WebAssembly heap .* cannot hold 4\.00 GiB more\): use a smaller one$/),
  );
  assert.equal(backendBroken(), null);
  assert.equal(tf.memory().numTensors, tensors, 'the failed op left tensors behind');
  assert.equal((tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.byteLength, heapBytes, 'the heap grew for nothing');
  // Unguarded, TF.js would have written 4 GiB from the wrapped address and overwritten the model.
  const sum = tf.sum(tf.add(tf.ones([1000]), 1));
  assert.equal((await sum.data())[0], 2000);
  sum.dispose();
});

/** A 4-row PT prompt on 8 SST-2 training examples, with their objective. */
async function ptRun() {
  const encoder = new TaskEncoder(TASK_CATALOG.sst2.task, loaded.tokenizer, { maxPositions: loaded.model.dims.maxPositions, promptRows: 4 });
  const train = encoder.encodeAll(await sst2Rows(8));
  const prompt = await SoftPrompt.initialise(resolvePromptSpec({ method: 'pt', n: 4 }, loaded.model.dims.hiddenSize), loaded.model, (t) => loaded.tokenizer.encode(t));
  return { encoder, train, prompt, objective: objectiveFor(encoder, loaded.model) };
}

test('a training step that runs out of wasm memory mid-pass fails with BACKEND_FAILED and leaves no tensors behind', async () => {
  const { train, prompt, objective } = await ptRun();
  // The real loss, then one tensor too large: the forward pass has saved its activations for the backward pass by then.
  const tooLarge = { ...objective, loss: (X: tf.Tensor2D, batch: Parameters<typeof objective.loss>[1]) => tf.add(objective.loss(X, batch), tf.sum(allocateFourGiB())) as tf.Scalar };
  const tensors = tf.memory().numTensors;
  await assert.rejects(
    trainPrompt({ prompt, objective: tooLarge, train, options: { batchSize: 4, maxSteps: 1 } }),
    isBackendFailed(/^a training step of 4 examples \(up to \d+ positions each\) needs more memory than the wasm backend has .*: use a smaller batchSize/),
  );
  assert.equal(tf.memory().numTensors, tensors, 'the failed step left its tensors behind');
  assert.equal(backendBroken(), null);
  assert.equal((await trainPrompt({ prompt, objective, train, options: { batchSize: 4, maxSteps: 2 } })).steps, 2);
  prompt.dispose();
});

test('a WebAssembly trap of the real backend during guarded work: BACKEND_FAILED, the backend marked broken, and later steps and inference refused', async () => {
  const { encoder, train, prompt, objective } = await ptRun();
  const trainOnce = () => trainPrompt({ prompt, objective, train, options: { batchSize: 4, maxSteps: 1 } });
  await trainOnce(); // sound before

  // Freeing a wild pointer traps inside TF.js's own wasm module, as a kernel writing past the heap does.
  const wasm = (tf.backend() as unknown as { wasm: { _free(address: number): void } }).wasm;
  await assert.rejects(
    guardBackend(WORK, async () => wasm._free(0xfffffff0)),
    isBackendFailed(/^the wasm backend crashed during the test op \(memory access out of bounds\), most likely out of memory: use a smaller one\. It is unusable until the process restarts\.$/),
  );
  assert.equal(backendBroken(), 'the test op: memory access out of bounds');

  await assert.rejects(trainOnce(), isBackendFailed(/^the wasm backend failed earlier \(the test op: memory access out of bounds\) and cannot be trusted until the process restarts$/));
  const X = prompt.materialize();
  await assert.rejects(classify(loaded.model, [{ prompt: X, input: train[0]!.input, labels: encoder.labels, labelTokens: encoder.labelTokens }]), isBackendFailed(/failed earlier/));
  X.dispose();
  prompt.dispose();
});
