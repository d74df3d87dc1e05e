import { join } from 'node:path';
import { initBackend } from './src/engine/backend.js';
import { TASK_CATALOG } from './src/engine/tasks/task-catalog.js';
import { readDatasetFile } from './src/engine/datasets/parse-dataset.js';
import { loadFrozenModel } from './src/engine/models/load-model.js';
import { resolvePromptSpec } from './src/engine/prompts/prompt-spec.js';
import { SoftPrompt } from './src/engine/prompts/soft-prompt.js';
import { objectiveFor } from './src/engine/tasks/objective.js';
import { TaskEncoder } from './src/engine/tasks/task-encoder.js';
import { loadTokenizer } from './src/engine/tokenizer.js';
import { trainPrompt } from './src/engine/training/trainer.js';
const method = (process.argv[2] ?? 'lopt1') as 'pt'|'lopt1'|'lopt2';
const task = (process.argv[3] ?? 'ag_news') as 'ag_news'|'sst2';
const steps = Number(process.argv[4] ?? 60);
await initBackend('wasm');
const dir = '/work/shared/models/gpt2-mini';
const model = await loadFrozenModel(dir);
const tok = await loadTokenizer(dir);
const files = task === 'ag_news' ? ['ag_news/train.csv','ag_news/dev.csv'] : ['sst2/train.tsv','sst2/dev.tsv'];
const train = (await readDatasetFile(join('/work/shared/datasets', files[0]!), TASK_CATALOG[task].reading)).slice(0, 2000);
const dev = (await readDatasetFile(join('/work/shared/datasets', files[1]!), TASK_CATALOG[task].reading)).slice(0, 300);
const spec = resolvePromptSpec({ method, n: 20, ...(method === 'pt' ? {} : { r: 4 }), seed: 1 }, model.dims.hiddenSize);
const enc = new TaskEncoder(TASK_CATALOG[task].task, tok, { maxPositions: model.dims.maxPositions, promptRows: 20 });
const prompt = SoftPrompt.initialise(spec, model, tok.encode);
const t0 = Date.now();
const res = await trainPrompt({ prompt, objective: objectiveFor(enc, model), train: enc.encodeAll(train), validation: enc.encodeAll(dev),
  options: { batchSize: 16, maxSteps: steps, learningRate: 0.03, evalEvery: steps/2, seed: 1 },
  callbacks: { onStepEnd: (p) => { if (p.step % 10 === 0) console.log(p.step, p.loss.toFixed(3), p.learningRate.toFixed(4), p.gradNorm.toFixed(3), p.tokensPerSecond.toFixed(0), p.etaSeconds.toFixed(0)); },
    onEvaluation: (e) => console.log('eval', e.step, JSON.stringify(e.metrics), e.isBest) } });
console.log(method, task, JSON.stringify(res), 'params', prompt.trainableParameters, 'wall', (Date.now()-t0)/1000);
