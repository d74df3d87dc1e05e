import { mkdir, writeFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { EngineError } from '../engine/engine-error.js';
import { readModelInfo } from '../engine/models/load-model.js';
import { encodePeftAdapter } from '../engine/peft-adapter.js';
import { readPromptFile } from '../engine/prompt-file.js';
import { UsageError } from './usage-error.js';

export const EXPORT_USAGE = `lopt export --format peft PROMPT DIR [--model DIR]
  Writes the prompt file PROMPT as a Hugging Face PEFT prompt-tuning adapter in folder DIR
  (adapter_config.json, adapter_model.safetensors), which PeftModel.from_pretrained loads.
  PEFT has no low-rank prompt: a LoPT prompt goes out as its materialised X.
  --model DIR            the model folder, for num_attention_heads and num_layers (else null:
                         PEFT takes them from the base model) and base_model_name_or_path`;

export async function exportCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, options: { format: { type: 'string' }, model: { type: 'string' } }, strict: true, allowPositionals: true });
  if (values.format !== 'peft') throw new UsageError(`--format must be peft, got ${values.format === undefined ? 'none' : `"${values.format}"`}`);
  const [promptPath, outDir] = positionals;
  if (!promptPath || !outDir || positionals.length > 2) throw new UsageError('give the prompt file and the folder to write');
  const file = readPromptFile(resolve(promptPath));
  const model = values.model ? await readModelInfo(resolve(values.model)) : undefined;
  if (model && (model.dims.hiddenSize !== file.model.hiddenSize || model.promptStack !== file.model.stack)) {
    throw new EngineError('PROMPT_FILE_INVALID', `the prompt (width ${file.model.hiddenSize}, ${file.model.stack}) is not for the model in ${values.model} (width ${model.dims.hiddenSize}, ${model.promptStack})`);
  }
  const X = file.tensors.get('X')!;
  const adapter = encodePeftAdapter(
    X,
    {
      id: values.model ? basename(resolve(values.model)) : file.model.id,
      stack: file.model.stack,
      hiddenSize: file.model.hiddenSize,
      numHeads: model?.dims.numHeads ?? null,
      numLayers: model?.dims.numLayers ?? null,
    },
    { kind: file.spec.init, ...(file.spec.initText ? { text: file.spec.initText } : {}) },
  );
  await mkdir(outDir, { recursive: true });
  for (const [name, bytes] of adapter) await writeFile(join(outDir, name), bytes);
  process.stdout.write(`${JSON.stringify({ adapter: resolve(outDir), files: [...adapter.keys()], numVirtualTokens: X.shape[0], tokenDim: X.shape[1] })}\n`);
}
