import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { loadPrompt, readPromptFile, savePromptFile } from '../../src/engine/prompt-file.js';
import { resolvePromptSpec } from '../../src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from '../../src/engine/prompts/soft-prompt.js';
import { encodeSafetensors } from '../../src/engine/safetensors.js';
import { loadGpt2Mini, type LoadedModel } from '../helpers/engine-fixtures.js';
import { tempDir } from '../helpers/temp-dir.js';
import { TASK_CATALOG } from '../../src/engine/tasks/task-catalog.js';

let loaded: LoadedModel;
before(async () => {
  loaded = await loadGpt2Mini();
});
after(() => loaded.model.dispose());
const dir = tempDir();
const info = { model: { id: 'gpt2-mini', type: 'gpt2', hiddenSize: 256, stack: 'decoder' as const }, task: TASK_CATALOG.ag_news.task, metrics: { accuracy: 0.5 } };

test('each method survives a save and a load: parameters, X0, materialised X and metadata', async () => {
  for (const spec of [{ method: 'pt', n: 3 }, { method: 'lopt1', n: 3, r: 2 }, { method: 'lopt2', n: 3, r: 2, activation: 'sigmoid' }] as const) {
    const prompt = await SoftPrompt.initialise(resolvePromptSpec({ ...spec, seed: 4 }, 256), loaded.model, (t) => loaded.tokenizer.encode(t));
    const path = join(dir, `${spec.method}.safetensors`);
    await savePromptFile(path, prompt, info);
    const contents = readPromptFile(path);
    assert.deepEqual(contents.spec, prompt.spec);
    assert.deepEqual({ model: contents.model, task: contents.task, metrics: contents.metrics }, info);
    assert.equal(contents.trainableParameters, prompt.trainableParameters);
    const expectedNames = { pt: ['X'], lopt1: ['U', 'V', 'X'], lopt2: ['U', 'V', 'X', 'X0'] }[spec.method];
    assert.deepEqual([...contents.tensors.keys()].sort(), expectedNames);
    const reloaded = loadPrompt(contents);
    assert.deepEqual(await reloaded.parameterValues(), await prompt.parameterValues());
    const [a, b] = [prompt.materialize(), reloaded.materialize()];
    assert.deepEqual(await a.data(), await b.data());
    assert.deepEqual(contents.tensors.get('X')!.data, await a.data());
    [a, b].forEach((t) => t.dispose());
    prompt.dispose();
    reloaded.dispose();
  }
});

test('files that are not prompt files, or miss a tensor, are refused', () => {
  const plain = join(dir, 'plain.safetensors');
  writeFileSync(plain, encodeSafetensors(new Map([['X', { shape: [1, 256], data: new Float32Array(256) }]])));
  assert.throws(() => readPromptFile(plain), /not a prompt file/);
  const partial = join(dir, 'partial.safetensors');
  writeFileSync(
    partial,
    encodeSafetensors(new Map([['U', { shape: [3, 2], data: new Float32Array(6) }]]), {
      format: 'lopt-prompt/1',
      spec: JSON.stringify({ method: 'lopt1', n: 3, r: 2 }),
      model: JSON.stringify(info.model),
      task: JSON.stringify(info.task),
      metrics: '{}',
    }),
  );
  assert.throws(() => loadPrompt(readPromptFile(partial)), /lopt1 prompt needs V of shape \[2, 256\], got none/);
});
