/**
 * Hugging Face PEFT's prompt-tuning adapter, as `PeftModel.save_pretrained` writes it: a folder
 * with `adapter_config.json` (a PromptTuningConfig, `peft_type` PROMPT_TUNING) and
 * `adapter_model.safetensors` holding one tensor, `prompt_embeddings`
 * [num_virtual_tokens · num_transformer_submodules, token_dim], metadata {"format": "pt"}.
 *
 * PEFT has no low-rank prompt type, so a LoPT prompt goes out as its materialised X (n × d).
 * An encoder-decoder's prompt goes out with num_transformer_submodules 1: PEFT then puts the
 * virtual tokens in front of the encoder input only, which is where this service puts them (its
 * seq2seq default, 2, would also put a second n rows in front of the decoder's input). Coming
 * in, an adapter with decoder rows is refused rather than half applied.
 */
import { EngineError } from './engine-error.js';
import type { PromptStack } from './models/frozen-model.js';
import type { PromptInit } from './prompts/prompt-spec.js';
import { encodeSafetensors, readSafetensors, type HostTensor } from './safetensors.js';

export const PEFT_CONFIG_FILE = 'adapter_config.json';
export const PEFT_WEIGHTS_FILE = 'adapter_model.safetensors';
const PROMPT_TENSOR = 'prompt_embeddings';
/** The PEFT release whose adapter layout this follows; PEFT reads the fields below since 0.4. */
export const PEFT_FORMAT_VERSION = '0.17.0';

/** The base model an adapter is for, as its config names it. */
export interface PeftBaseModel {
  /** base_model_name_or_path, and tokenizer_name_or_path: the model's identifier here. */
  readonly id: string;
  readonly stack: PromptStack;
  readonly hiddenSize: number;
  /** num_attention_heads and num_layers; null where unknown, which PEFT fills in from the base model when it loads. */
  readonly numHeads: number | null;
  readonly numLayers: number | null;
}

/** PEFT's TaskType of a prompt on each stack. */
const TASK_TYPE: Record<PromptStack, string> = { decoder: 'CAUSAL_LM', encoder: 'SEQ_2_SEQ_LM' };

/**
 * The adapter's two files for a prompt X [n, d]. `init` is informational once `inference_mode`
 * is true (PEFT then neither tokenizes the init text nor draws a random init): the vocabulary
 * sampling init is written as RANDOM, since PEFT before 0.12 has no SAMPLE_VOCAB and would refuse it.
 */
export function encodePeftAdapter(X: HostTensor, model: PeftBaseModel, init: { kind: PromptInit; text?: string }): Map<string, Buffer> {
  const [n, d] = X.shape as [number, number];
  if (d !== model.hiddenSize) throw new EngineError('BAD_ARGUMENT', `a prompt of width ${d} is not for a model of width ${model.hiddenSize}`);
  const config = {
    auto_mapping: null,
    base_model_name_or_path: model.id,
    inference_mode: true,
    num_attention_heads: model.numHeads,
    num_layers: model.numLayers,
    num_transformer_submodules: 1,
    num_virtual_tokens: n,
    peft_type: 'PROMPT_TUNING',
    peft_version: PEFT_FORMAT_VERSION,
    prompt_tuning_init: init.kind === 'text' ? 'TEXT' : 'RANDOM',
    prompt_tuning_init_text: init.kind === 'text' ? (init.text ?? null) : null,
    revision: null,
    task_type: TASK_TYPE[model.stack],
    token_dim: d,
    tokenizer_kwargs: null,
    tokenizer_name_or_path: model.id,
  };
  return new Map([
    [PEFT_CONFIG_FILE, Buffer.from(`${JSON.stringify(config, null, 2)}\n`, 'utf8')],
    [PEFT_WEIGHTS_FILE, encodeSafetensors(new Map([[PROMPT_TENSOR, X]]), { format: 'pt' })],
  ]);
}


const invalid = (message: string) => new EngineError('ADAPTER_INVALID', message);

function integerField(config: Record<string, unknown>, key: string, fallback?: number): number {
  const value = config[key] ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalid(`${PEFT_CONFIG_FILE}: "${key}" must be a positive integer, got ${JSON.stringify(config[key])}`);
  return value;
}

/**
 * The prompt X [n, d] (float32, whatever dtype it was saved in) of an adapter's config (parsed
 * JSON) and weights (the safetensors bytes), checked against the model it is to be used with: a prompt-tuning adapter of this stack's task type, its width, and
 * one prompt for the stack the model takes it in front of.
 */
export function decodePeftAdapter(config: unknown, weights: Uint8Array, model: Pick<PeftBaseModel, 'stack' | 'hiddenSize'>): HostTensor {
  if (typeof config !== 'object' || config === null || Array.isArray(config)) throw invalid(`${PEFT_CONFIG_FILE} is not a JSON object`);
  const fields = config as Record<string, unknown>;
  if (fields.peft_type !== 'PROMPT_TUNING') throw invalid(`peft_type ${JSON.stringify(fields.peft_type)} is not a prompt-tuning adapter (PROMPT_TUNING)`);
  const taskType = TASK_TYPE[model.stack];
  if (fields.task_type !== taskType) throw invalid(`task_type ${JSON.stringify(fields.task_type)} does not fit this model, which takes ${taskType} prompts`);
  const n = integerField(fields, 'num_virtual_tokens');
  const d = integerField(fields, 'token_dim');
  const submodules = integerField(fields, 'num_transformer_submodules', 1);
  if (d !== model.hiddenSize) throw invalid(`token_dim ${d} is not this model's width ${model.hiddenSize}`);
  if (submodules !== 1) {
    throw invalid(`num_transformer_submodules ${submodules}: the adapter also prompts the decoder, which this service does not do; save it with num_transformer_submodules 1 (the encoder's prompt only)`);
  }
  let tensors: Map<string, HostTensor>;
  try {
    ({ tensors } = readSafetensors({ bytes: weights, name: PEFT_WEIGHTS_FILE }));
  } catch (err) {
    throw invalid((err as Error).message);
  }
  const X = tensors.get(PROMPT_TENSOR);
  if (!X) throw invalid(`${PEFT_WEIGHTS_FILE} has no tensor "${PROMPT_TENSOR}" (it has ${[...tensors.keys()].join(', ') || 'none'})`);
  if (tensors.size !== 1) throw invalid(`${PEFT_WEIGHTS_FILE} holds ${tensors.size} tensors; a prompt-tuning adapter holds only "${PROMPT_TENSOR}"`);
  if (X.shape.length !== 2 || X.shape[0] !== n || X.shape[1] !== d) {
    throw invalid(`"${PROMPT_TENSOR}" has shape [${X.shape.join(', ')}], expected [${n}, ${d}] from the config`);
  }
  if (!X.data.every(Number.isFinite)) throw invalid(`"${PROMPT_TENSOR}" holds values that are not finite`);
  return X;
}
