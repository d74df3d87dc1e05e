import { copyFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';
import { shutdownBackend } from '../../src/engine/backend.js';
import { readSafetensors } from '../../src/engine/safetensors.js';
import { decoderParitySuite, type DecoderFixture } from '../helpers/decoder-parity.js';
import { KERNEL_PATHS } from '../helpers/kernel-paths.js';
import { FIXTURES_DIR, MODELS_DIR, readJsonFixture } from '../helpers/shared.js';
import { tempDir } from '../helpers/temp-dir.js';
import { webgpuUnavailable } from '../helpers/webgpu.js';

const webgpuSkip = await webgpuUnavailable();
const PATHS = [...KERNEL_PATHS, { backend: 'webgpu-software' as const, nativeKernels: 'off' as const, label: 'webgpu-software', skip: webgpuSkip }];
after(shutdownBackend);

for (const family of ['llama', 'qwen2'] as const) {
  decoderParitySuite({
    label: `tiny-${family}-random`,
    modelDir: join(MODELS_DIR, `tiny-${family}-random`),
    fixture: readJsonFixture<DecoderFixture>(`${family}.json`),
    reference: readSafetensors(join(FIXTURES_DIR, `${family}.safetensors`)).tensors,
    paths: PATHS,
  });
}

// Mistral is Llama's math under another model_type (no biases, untied head) with a sliding window:
// the Llama folder's weights with a Mistral config must give the Llama fixture's numbers.
const mistralDir = tempDir('lopt-mistral-');
{
  const source = join(MODELS_DIR, 'tiny-llama-random');
  const llama = JSON.parse(readFileSync(join(source, 'config.json'), 'utf8')) as Record<string, unknown>;
  const { attention_bias: _a, mlp_bias: _m, pretraining_tp: _p, ...shared } = llama;
  writeFileSync(join(mistralDir, 'config.json'), JSON.stringify({ ...shared, architectures: ['MistralForCausalLM'], model_type: 'mistral', sliding_window: 4096 }));
  copyFileSync(join(source, 'model.safetensors'), join(mistralDir, 'model.safetensors'));
}
decoderParitySuite({
  label: 'tiny-llama-random as mistral',
  modelDir: mistralDir,
  fixture: readJsonFixture<DecoderFixture>('llama.json'),
  reference: readSafetensors(join(FIXTURES_DIR, 'llama.safetensors')).tensors,
  paths: PATHS,
});
