import { parseArgs } from 'node:util';
import { objectiveFor } from '../engine/tasks/objective.js';
import { DATA_OPTIONS, DATA_USAGE, integer, MODEL_OPTIONS, readRows, required } from './cli-options.js';
import { openPromptSession } from './prompt-session.js';

export const EVAL_USAGE = `lopt eval --prompt FILE --model DIR --data FILE [options]
  --prompt FILE          a prompt file written by lopt train
  --model DIR            the model it was trained for
  --backend B            auto | node-gpu | webgpu | node | wasm | cpu | webgpu-software
  --native-kernels M     auto | off | on: OpenBLAS kernels on wasm and cpu (default auto: where built)
  --batch-size N         default 32
${DATA_USAGE}`;

export async function evalCommand(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { ...MODEL_OPTIONS, ...DATA_OPTIONS, prompt: { type: 'string' }, 'batch-size': { type: 'string' } },
    strict: true,
    allowPositionals: false,
  });
  const rows = await readRows(values, required(values, 'data'));
  const session = await openPromptSession(values);
  const examples = session.encoder.encodeAll(rows);
  const X = session.prompt.materialize();
  const metrics = await objectiveFor(session.encoder, session.model).evaluate(X, examples, integer(values, 'batch-size', 32)!);
  X.dispose();
  process.stdout.write(`${JSON.stringify({ examples: examples.length, ...metrics })}\n`);
}
