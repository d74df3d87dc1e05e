import assert from 'node:assert/strict';
import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { before, test } from 'node:test';
import { initBackend } from '../../src/engine/backend.js';
import { loadFrozenModel } from '../../src/engine/models/load-model.js';
import { readSafetensors, writeSafetensors, type HostTensor } from '../../src/engine/safetensors.js';
import { tf } from '../../src/engine/tf.js';
import { MODELS_DIR } from '../helpers/shared.js';
import { tempDir } from '../helpers/temp-dir.js';

const TINY = join(MODELS_DIR, 'tiny-gpt2-random');
const tinyConfig = JSON.parse(readFileSync(join(TINY, 'config.json'), 'utf8')) as Record<string, unknown>;
const tinyTensors = readSafetensors(join(TINY, 'model.safetensors')).tensors;
const root = tempDir();

/** A model folder with the tiny model's config and weights, edited. */
async function modelFolder(
  name: string,
  edit: { config?: Record<string, unknown>; tensors?: (t: Map<string, HostTensor>) => void } = {},
): Promise<string> {
  const dir = join(root, name);
  await mkdir(dir);
  writeFileSync(join(dir, 'config.json'), JSON.stringify({ ...tinyConfig, ...edit.config }));
  const tensors = new Map(tinyTensors);
  edit.tensors?.(tensors);
  await writeSafetensors(join(dir, 'model.safetensors'), tensors);
  return dir;
}

before(() => initBackend('wasm'));

test('both shared models load with their dimensions, and nothing they hold is trainable', async () => {
  const before = tf.memory().numTensors;
  for (const [folder, dims] of [
    ['gpt2-mini', { vocabSize: 8192, hiddenSize: 256, maxPositions: 128, numLayers: 4, numHeads: 4 }],
    ['tiny-gpt2-random', { vocabSize: 50257, hiddenSize: 2, maxPositions: 1024, numLayers: 2, numHeads: 2 }],
  ] as const) {
    const model = await loadFrozenModel(join(MODELS_DIR, folder));
    assert.deepEqual(model.dims, dims);
    assert.equal(model.modelType, 'gpt2');
    assert.equal(Object.keys(tf.engine().registeredVariables).length, 0);
    model.dispose();
  }
  assert.equal(tf.memory().numTensors, before);
});

test('weight names without the transformer. prefix load too', async () => {
  const dir = await modelFolder('unprefixed', {
    tensors: (t) => {
      for (const [name, tensor] of [...t]) {
        t.delete(name);
        t.set(name.replace(/^transformer\./, ''), tensor);
      }
    },
  });
  const model = await loadFrozenModel(dir);
  assert.equal(model.dims.numLayers, 2);
  model.dispose();
});

test('a missing tensor is named', async () => {
  const dir = await modelFolder('missing', { tensors: (t) => t.delete('transformer.h.1.mlp.c_fc.bias') });
  await assert.rejects(loadFrozenModel(dir), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MODEL_WEIGHTS_MISMATCH');
    assert.match(err.message, /missing tensors: h\.1\.mlp\.c_fc\.bias/);
    return true;
  });
});

test('a tensor of the wrong shape is named with both shapes', async () => {
  const dir = await modelFolder('misshaped', {
    tensors: (t) => t.set('transformer.h.0.attn.c_attn.weight', { shape: [6, 2], data: new Float32Array(12) }),
  });
  await assert.rejects(loadFrozenModel(dir), /wrong shapes: transformer\.h\.0\.attn\.c_attn\.weight is \[6, 2\], expected \[2, 6\]/);
});

test('an unexpected tensor is named', async () => {
  const dir = await modelFolder('unexpected', { tensors: (t) => t.set('transformer.h.2.ln_1.weight', { shape: [2], data: new Float32Array(2) }) });
  await assert.rejects(loadFrozenModel(dir), /unexpected tensors: transformer\.h\.2\.ln_1\.weight/);
});

test('a truncated safetensors file is named', async () => {
  const dir = await modelFolder('truncated');
  const path = join(dir, 'model.safetensors');
  const bytes = readFileSync(path);
  writeFileSync(path, bytes.subarray(0, bytes.length - 1000));
  await assert.rejects(loadFrozenModel(dir), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'SAFETENSORS_INVALID');
    assert.ok(err.message.startsWith(path), err.message);
    assert.match(err.message, /lie outside the \d+-byte data section \(truncated file\?\)/);
    return true;
  });
});

test('unknown model types and unsupported configs are refused by name', async () => {
  const falcon = await modelFolder('falcon', { config: { model_type: 'falcon' } });
  await assert.rejects(loadFrozenModel(falcon), (err: Error & { code?: string }) => {
    assert.equal(err.code, 'MODEL_UNSUPPORTED');
    assert.match(err.message, /model_type "falcon" is not supported \(supported: gpt2, llama, qwen2, mistral, t5\)/);
    return true;
  });
  const relu = await modelFolder('relu', { config: { activation_function: 'relu' } });
  await assert.rejects(loadFrozenModel(relu), /activation_function "relu"/);
  const heads = await modelFolder('heads', { config: { n_head: 3 } });
  await assert.rejects(loadFrozenModel(heads), /n_embd 2 is not divisible by n_head 3/);
});

test('a folder without config.json or weights says which file is missing', async () => {
  const empty = join(root, 'empty');
  await mkdir(empty);
  await assert.rejects(loadFrozenModel(empty), /config\.json does not exist/);
  copyFileSync(join(TINY, 'config.json'), join(empty, 'config.json'));
  await assert.rejects(loadFrozenModel(empty), /has neither model\.safetensors nor model\.safetensors\.index\.json/);
});
