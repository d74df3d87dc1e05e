import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { initBackend, shutdownBackend } from '../../src/engine/backend.js';
import { loadFrozenModel } from '../../src/engine/models/load-model.js';
import { readSafetensors } from '../../src/engine/safetensors.js';
import { tf } from '../../src/engine/tf.js';
import { decoderParitySuite } from '../helpers/decoder-parity.js';
import { allPositionsHidden, causal } from '../helpers/engine-fixtures.js';
import { KERNEL_PATHS } from '../helpers/kernel-paths.js';
import { FIXTURES_DIR, MODELS_DIR, gpt2MiniFixture, readJsonFixture } from '../helpers/shared.js';
import { maxAbsDiff } from '../helpers/tensors.js';
import { webgpuUnavailable } from '../helpers/webgpu.js';

const webgpuSkip = await webgpuUnavailable();
after(shutdownBackend);

decoderParitySuite({
  label: 'gpt2-mini',
  modelDir: join(MODELS_DIR, 'gpt2-mini'),
  fixture: gpt2MiniFixture(),
  reference: readSafetensors(join(FIXTURES_DIR, 'gpt2-mini.safetensors')).tensors,
  paths: [...KERNEL_PATHS, { backend: 'webgpu-software', nativeKernels: 'off', label: 'webgpu-software', skip: webgpuSkip }],
});

for (const backend of ['wasm', 'webgpu-software'] as const) {
  test(`tiny-gpt2-random logits match the reference (HF-written, transformer.-prefixed, vocab 50257; ${backend})`, { skip: backend === 'webgpu-software' && webgpuSkip }, async () => {
    await initBackend(backend);
    const model = causal(await loadFrozenModel(join(MODELS_DIR, 'tiny-gpt2-random')));
    const ids = readJsonFixture<{ 'tiny-gpt2-random': { input_ids: number[] } }>('fixtures.json')['tiny-gpt2-random'].input_ids;
    const { hidden } = allPositionsHidden(model, [{ ids }]);
    const logits = model.logits(tf.reshape(hidden, [ids.length, model.dims.hiddenSize]));
    const expected = readSafetensors(join(FIXTURES_DIR, 'tiny-gpt2-random.safetensors')).tensors.get('logits')!;
    assert.ok(maxAbsDiff(await logits.data(), expected.data) < 1e-4);
    tf.dispose([hidden, logits]);
    model.dispose();
  });
}
