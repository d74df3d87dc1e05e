/**
 * Prompts in and out of the service in other tools' formats, through the real API, PostgreSQL and
 * the inference thread: a `lopt train`-style prompt file imported, exported as a Hugging Face PEFT
 * adapter (checked byte for byte against PEFT's layout, and unpacked by the system's tar), the
 * adapter and the downloaded prompt file imported again, all predicting as the original does;
 * T5's encoder-side adapter; and the refusals of adapters and files that do not fit.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { createTar } from 'nanotar';
import { openPromptSession } from '../../src/cli/prompt-session.js';
import { initBackend } from '../../src/engine/backend.js';
import { classify } from '../../src/engine/infer.js';
import { loadFrozenModel } from '../../src/engine/models/load-model.js';
import { encodePeftAdapter } from '../../src/engine/peft-adapter.js';
import { savePromptFile } from '../../src/engine/prompt-file.js';
import { resolvePromptSpec } from '../../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../../src/engine/prompts/soft-prompt.js';
import { encodeSafetensors } from '../../src/engine/safetensors.js';
import type { TaskSpec } from '../../src/engine/tasks/task-spec.js';
import { loadTokenizer } from '../../src/engine/tokenizer.js';
import { startTestService, type ApiResponse, type TestService } from '../helpers/service.js';
import { MODELS_DIR } from '../helpers/shared.js';
import { tempDir } from '../helpers/temp-dir.js';

const GPT2 = join(MODELS_DIR, 'gpt2-mini');
const T5 = join(MODELS_DIR, 'tiny-t5-random');
const TASK: TaskSpec = { kind: 'classification', template: '{text} It was', labelWords: { '0': ' terrible', '1': ' great' } };
const TEXTS = ['a fine film', 'a dull mess', 'great fun from start to finish'];

let service: TestService;
let key: string;
const dir = tempDir();
/** A prompt file as `lopt train` writes it: lopt2 (n 5, r 3) on gpt2-mini, initialised from its vocabulary. */
let promptFile: Buffer;

const call = (method: 'GET' | 'POST', url: string, route: string, payload?: object) => service.call(key, method, url, route, payload);
const importPrompt = (body: object) => call('POST', '/v1/prompts', '/v1/prompts', body);
const base64 = (bytes: Uint8Array) => Buffer.from(bytes).toString('base64');
const predict = async (id: string) => {
  const { status, body } = await call('POST', `/v1/prompts/${id}/predict`, '/v1/prompts/{id}/predict', { texts: TEXTS });
  assert.equal(status, 200, JSON.stringify(body));
  return body.predictions as Array<{ label: string; probabilities: Record<string, number> }>;
};
const download = async (id: string, format: 'peft' | 'safetensors') => {
  const response = await service.app.inject({ method: 'GET', url: `/v1/prompts/${id}/weights?format=${format}`, headers: { authorization: `Bearer ${key}` } });
  assert.equal(response.statusCode, 200, response.body);
  return response;
};
const assertRefused = (response: ApiResponse, code: string, pattern: RegExp) => {
  assert.equal(response.status, 400, JSON.stringify(response.body));
  assert.equal(response.body.error.code, code);
  assert.match(response.body.error.message, pattern);
};

function assertSamePredictions(actual: Awaited<ReturnType<typeof predict>>, expected: Awaited<ReturnType<typeof predict>>): void {
  assert.deepEqual(actual.map((p) => p.label), expected.map((p) => p.label));
  actual.forEach((p, i) => {
    for (const [label, probability] of Object.entries(expected[i]!.probabilities)) assert.ok(Math.abs(p.probabilities[label]! - probability) < 1e-6, `${label}: ${p.probabilities[label]} vs ${probability}`);
  });
}

/** The JSON header of safetensors bytes, and where its data starts. */
function safetensorsHeader(bytes: Buffer): { header: Record<string, any>; dataStart: number } {
  const length = Number(bytes.readBigUInt64LE(0));
  return { header: JSON.parse(bytes.subarray(8, 8 + length).toString('utf8')), dataStart: 8 + length };
}

before(async () => {
  service = await startTestService({ LOPT_MODELS: `gpt2-mini=${GPT2},tiny-t5=${T5}` });
  key = await service.newKey('interop');
  await initBackend('wasm');
  const model = await loadFrozenModel(GPT2);
  const tokenizer = await loadTokenizer(GPT2);
  const prompt = await SoftPrompt.initialise(resolvePromptSpec({ method: 'lopt2', n: 5, r: 3, seed: 4 }, model.dims.hiddenSize), model, (t) => tokenizer.encode(t));
  const path = join(dir, 'trained.safetensors');
  await savePromptFile(path, prompt, { model: { id: 'gpt2-mini', type: 'gpt2', hiddenSize: model.dims.hiddenSize, stack: 'decoder' }, task: TASK, metrics: { loss: 0.69, accuracy: 0.5 } });
  promptFile = readFileSync(path);
  prompt.dispose();
  model.dispose();
});
after(() => service.close());

describe('a prompt file and a PEFT adapter round-trip through the service', () => {
  let imported: Record<string, any>;
  let original: Awaited<ReturnType<typeof predict>>;

  before(async () => {
    const response = await importPrompt({ model: 'gpt2-mini', format: 'prompt-file', file: base64(promptFile) });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    imported = response.body;
    original = await predict(imported.id);
  });

  test('the imported prompt file keeps its method, factors and task, and predicts as lopt predict does with the file', async () => {
    assert.deepEqual(
      [imported.source, imported.jobId, imported.method, imported.n, imported.r, imported.activation, imported.trainableParameters],
      ['prompt-file', null, 'lopt2', 5, 3, 'tanh', 2 * 3 * 256],
    );
    assert.deepEqual(imported.shapes, { U: [256, 3], V: [3, 256], X0: [5, 256], X: [5, 256] });
    assert.deepEqual(imported.task, TASK);
    assert.deepEqual(imported.metrics, { loss: 0.69, accuracy: 0.5 });
    const session = await openPromptSession({ prompt: join(dir, 'trained.safetensors'), model: GPT2, backend: 'wasm' });
    const X = session.prompt.materialize();
    const { encoder } = session;
    const local = await classify(session.model, TEXTS.map((text, i) => ({ prompt: X, input: encoder.encodeInput({ text }, `input ${i}`), labels: encoder.labels, labelTokens: encoder.labelTokens })));
    X.dispose();
    session.prompt.dispose();
    session.model.dispose();
    assert.deepEqual(original.map((p) => p.label), local.map((p) => p.label));
    original.forEach((p, i) => {
      for (const [label, probability] of Object.entries(local[i]!.probabilities)) assert.ok(Math.abs(p.probabilities[label]! - probability) < 1e-5);
    });
  });

  test("the PEFT export is PEFT's prompt-tuning adapter folder, byte for byte, in a tar the system's tar unpacks", async () => {
    const response = await download(imported.id, 'peft');
    assert.equal(response.headers['content-type'], 'application/x-tar');
    assert.equal(response.headers['content-disposition'], `attachment; filename="prompt-${imported.id}-peft.tar"`);
    const tarPath = join(dir, 'adapter.tar');
    writeFileSync(tarPath, response.rawPayload);
    const out = join(dir, 'unpacked');
    execFileSync('mkdir', ['-p', out]);
    execFileSync('tar', ['-xf', tarPath, '-C', out]);
    const folder = join(out, `prompt-${imported.id}`);
    assert.deepEqual(readdirSync(out), [`prompt-${imported.id}`]);
    assert.deepEqual(readdirSync(folder).sort(), ['adapter_config.json', 'adapter_model.safetensors']);

    const config = JSON.parse(readFileSync(join(folder, 'adapter_config.json'), 'utf8'));
    assert.deepEqual(config, {
      auto_mapping: null,
      base_model_name_or_path: 'gpt2-mini',
      inference_mode: true,
      num_attention_heads: 4,
      num_layers: 4,
      num_transformer_submodules: 1,
      num_virtual_tokens: 5,
      peft_type: 'PROMPT_TUNING',
      peft_version: config.peft_version,
      prompt_tuning_init: 'RANDOM',
      prompt_tuning_init_text: null,
      revision: null,
      task_type: 'CAUSAL_LM',
      token_dim: 256,
      tokenizer_kwargs: null,
      tokenizer_name_or_path: 'gpt2-mini',
    });
    assert.match(config.peft_version, /^\d+\.\d+\.\d+$/);

    const weights = readFileSync(join(folder, 'adapter_model.safetensors'));
    const { header, dataStart } = safetensorsHeader(weights);
    assert.deepEqual(header, { __metadata__: { format: 'pt' }, prompt_embeddings: { dtype: 'F32', shape: [5, 256], data_offsets: [0, 5 * 256 * 4] } });
    assert.equal(weights.length, dataStart + 5 * 256 * 4);
    const { body: stored } = await call('GET', `/v1/prompts/${imported.id}/weights`, '/v1/prompts/{id}/weights');
    const X = new Float32Array(weights.buffer.slice(weights.byteOffset + dataStart, weights.byteOffset + weights.length));
    assert.deepEqual([...X], stored.tensors.X.data);
  });

  test('the exported adapter and the downloaded prompt file import again and predict the same', async () => {
    const adapter = await importPrompt({ model: 'gpt2-mini', format: 'peft', file: base64((await download(imported.id, 'peft')).rawPayload), task: TASK });
    assert.equal(adapter.status, 201, JSON.stringify(adapter.body));
    assert.deepEqual([adapter.body.source, adapter.body.method, adapter.body.n, adapter.body.r, adapter.body.trainableParameters], ['peft', 'pt', 5, null, 5 * 256]);
    assert.deepEqual(adapter.body.shapes, { X: [5, 256] });
    assertSamePredictions(await predict(adapter.body.id), original);

    const file = await importPrompt({ model: 'gpt2-mini', format: 'prompt-file', file: base64((await download(imported.id, 'safetensors')).rawPayload) });
    assert.equal(file.status, 201, JSON.stringify(file.body));
    assert.deepEqual(file.body.shapes, imported.shapes);
    assertSamePredictions(await predict(file.body.id), original);
  });

  test("another tenant does not see an imported prompt", async () => {
    const other = await service.newKey('someone else');
    const response = await service.call(other, 'GET', `/v1/prompts/${imported.id}`, '/v1/prompts/{id}');
    assert.equal(response.status, 404);
  });
});

describe("T5's prompt goes in front of the encoder: PEFT's SEQ_2_SEQ_LM with one transformer submodule", () => {
  const X = { shape: [4, 64], data: Float32Array.from({ length: 256 }, (_, i) => Math.cos(i) * 0.3) };
  const t5Model = { id: 'tiny-t5', stack: 'encoder' as const, hiddenSize: 64, numHeads: 4, numLayers: 2 };
  const tarOf = (files: Map<string, Buffer>, edit: (config: Record<string, unknown>) => void = () => undefined) => {
    const config = JSON.parse(files.get('adapter_config.json')!.toString('utf8'));
    edit(config);
    return base64(createTar([
      { name: 'adapter_config.json', data: JSON.stringify(config) },
      { name: 'adapter_model.safetensors', data: files.get('adapter_model.safetensors')! },
      { name: 'README.md', data: '# a PEFT model card' },
    ]));
  };

  test('an adapter saved at the tar root imports, predicts, and exports back as the same encoder prompt', async () => {
    const files = encodePeftAdapter(X, t5Model, { kind: 'random' });
    const response = await importPrompt({ model: 'tiny-t5', format: 'peft', file: tarOf(files), task: 'sst2' });
    assert.equal(response.status, 201, JSON.stringify(response.body));
    const predictions = await predict(response.body.id);
    assert.equal(predictions.length, TEXTS.length);
    const exported = (await download(response.body.id, 'peft')).rawPayload;
    const out = join(dir, 't5');
    execFileSync('mkdir', ['-p', out]);
    writeFileSync(join(out, 'a.tar'), exported);
    execFileSync('tar', ['-xf', join(out, 'a.tar'), '-C', out]);
    const folder = join(out, `prompt-${response.body.id}`);
    const config = JSON.parse(readFileSync(join(folder, 'adapter_config.json'), 'utf8'));
    assert.deepEqual([config.task_type, config.num_transformer_submodules, config.token_dim, config.num_virtual_tokens], ['SEQ_2_SEQ_LM', 1, 64, 4]);
    assert.deepEqual(readFileSync(join(folder, 'adapter_model.safetensors')), files.get('adapter_model.safetensors'));
  });

  test('adapters and files that do not fit the model are refused with what is wrong', async () => {
    const files = encodePeftAdapter(X, t5Model, { kind: 'random' });
    const peft = (file: string, model = 'tiny-t5', task: object = { task: 'sst2' }) => importPrompt({ model, format: 'peft', file, ...task });
    assertRefused(await peft(tarOf(files, (c) => void (c.num_transformer_submodules = 2))), 'ADAPTER_INVALID', /num_transformer_submodules 2: the adapter also prompts the decoder/);
    assertRefused(await peft(tarOf(files), 'gpt2-mini'), 'ADAPTER_INVALID', /task_type "SEQ_2_SEQ_LM" does not fit this model, which takes CAUSAL_LM prompts/);
    assertRefused(await peft(tarOf(files, (c) => void (c.token_dim = 65))), 'ADAPTER_INVALID', /token_dim 65 is not this model's width 64/);
    assertRefused(await peft(tarOf(files, (c) => void (c.num_virtual_tokens = 5))), 'ADAPTER_INVALID', /shape \[4, 64\], expected \[5, 64\]/);
    assertRefused(await peft(tarOf(files, (c) => void (c.peft_type = 'LORA'))), 'ADAPTER_INVALID', /not a prompt-tuning adapter/);
    assertRefused(await peft(tarOf(files), 'tiny-t5', {}), 'VALIDATION_FAILED', /names no task/);
    assertRefused(await peft('not base64!'), 'VALIDATION_FAILED', /not base64/);
    assertRefused(await peft(base64(Buffer.from('neither a tar nor anything else'))), 'ADAPTER_INVALID', /adapter_config.json/);
    assertRefused(await importPrompt({ model: 'tiny-t5', format: 'prompt-file', file: base64(promptFile) }), 'PROMPT_FILE_INVALID', /width 256, not 64; a decoder prompt, not an encoder one; family gpt2, not t5/);
    assertRefused(await importPrompt({ model: 'gpt2-mini', format: 'prompt-file', file: tarOf(files) }), 'PROMPT_FILE_INVALID', /the prompt file/);
    const unknown = await peft(tarOf(files), 'no-such-model');
    assert.equal(unknown.status, 404);
  });
});
