import { parseArgs } from 'node:util';
import { classify, generate } from '../engine/infer.js';
import { templateFields } from '../engine/tasks/template.js';
import { DATA_OPTIONS, MODEL_OPTIONS, readRows } from './cli-options.js';
import { openPromptSession } from './prompt-session.js';
import { UsageError } from './usage-error.js';

export const PREDICT_USAGE = `lopt predict --prompt FILE --model DIR [TEXT ...] [--data FILE]
  Each TEXT fills the template's one field; --data FILE gives rows with every field.
  Prints one JSON line per input: the label and its probabilities, or the generated text.
  --max-new-tokens N     text-to-text prompts (default: the task's maxTargetTokens)`;

export async function predictCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    options: { ...MODEL_OPTIONS, ...DATA_OPTIONS, prompt: { type: 'string' }, 'max-new-tokens': { type: 'string' } },
    strict: true,
    allowPositionals: true,
  });
  const session = await openPromptSession(values);
  const fields = templateFields(session.file.task.template);
  let inputs: Array<Record<string, string>>;
  if (values.data) {
    inputs = (await readRows(values, values.data)).map((row) => ({ ...row.fields }));
  } else {
    if (positionals.length === 0) throw new UsageError('give texts to classify, or --data FILE');
    if (fields.length !== 1) throw new UsageError(`the template needs fields ${fields.join(', ')}: give them with --data`);
    inputs = positionals.map((text) => ({ [fields[0]!]: text }));
  }
  const { encoder, model } = session;
  const X = session.prompt.materialize();
  const encoded = inputs.map((input, i) => ({ prompt: X, input: encoder.encodeInput(input, `input ${i + 1}`) }));
  if (session.file.task.kind === 'classification') {
    const results = await classify(model, encoded.map((e) => ({ ...e, labels: encoder.labels, labelTokens: encoder.labelTokens })));
    results.forEach((result, i) => process.stdout.write(`${JSON.stringify({ input: inputs[i], ...result })}\n`));
  } else {
    const maxNewTokens = Number(values['max-new-tokens'] ?? encoder.maxTargetTokens);
    const outputs = await generate(model, encoded, { maxNewTokens, stopTokenIds: encoder.stopTokenIds });
    outputs.forEach((ids, i) => process.stdout.write(`${JSON.stringify({ input: inputs[i], output: encoder.decode(ids) })}\n`));
  }
  X.dispose();
}
