/**
 * Turns dataset rows into token sequences for a task: the filled template as input, between the
 * special tokens the model's tokenizer puts around an input (Llama's BOS), the label's index
 * (classification) or the target tokens (text-to-text). Inputs longer than the room left by the
 * prompt are cut from the left, keeping the template's end (e.g. "It was"), or refused. Also
 * bounds, without a tokenizer, the sequences an encoder can make, for the API's job limits.
 */
import type { DatasetRow } from '../datasets/dataset-row.js';
import type { DatasetSummary } from '../datasets/dataset-summary.js';
import { EngineError } from '../engine-error.js';
import { MAX_INPUT_SPECIAL_TOKENS, maxTextTokens, type TextTokenizer } from '../tokenizer.js';
import { fillTemplate, templateParts } from './template.js';
import { validateTaskSpec, type TaskSpec } from './task-spec.js';

export interface EncodedExample {
  readonly line: number;
  readonly input: readonly number[];
  /** Classification: index into the task's labels. */
  readonly label?: number;
  /** Text-to-text: target tokens, ending with end-of-text when the tokenizer has it. */
  readonly target?: readonly number[];
}

export interface TaskEncoderOptions {
  /** Positions the model has, prompt rows included. */
  readonly maxPositions: number;
  /** Prompt rows n in front of every input. */
  readonly promptRows: number;
  /** Cut over-long inputs from the left (true) or refuse them. @defaultValue `true` */
  readonly truncate?: boolean;
}

const DEFAULT_MAX_TARGET_TOKENS = 32;

/**
 * Input tokens (special tokens included) that fit beside the prompt rows and the room kept after
 * the input: all but the last token of the longest label word, or the longest target.
 * SEQUENCE_TOO_LONG, saying what takes the room, where none is left for a token of text beside
 * the input's `specialTokens`.
 */
function inputRoom(spec: TaskSpec, longestLabelWord: number, specialTokens: number, { maxPositions, promptRows }: TaskEncoderOptions): number {
  const reserved = spec.kind === 'classification' ? longestLabelWord - 1 : (spec.maxTargetTokens ?? DEFAULT_MAX_TARGET_TOKENS);
  const room = maxPositions - promptRows - reserved;
  if (room > specialTokens) return room;
  const rows = `${promptRows} prompt rows`;
  const taking =
    reserved === 0 ? rows
    : spec.kind === 'classification' ? `${rows} and a label word of up to ${longestLabelWord} tokens`
    : `${rows} and maxTargetTokens = ${reserved} (at most ${maxPositions - promptRows - specialTokens - 1} here)`;
  const kept = specialTokens === 0 ? '' : `, ${specialTokens} kept for special tokens`;
  throw new EngineError('SEQUENCE_TOO_LONG', `${taking} leave no room for input in ${maxPositions} positions${kept}`);
}

/** Bounds of the label words' tokens (see maxTextTokens). */
const labelWordBounds = (spec: TaskSpec) => (spec.kind === 'classification' ? Object.values(spec.labelWords).map(maxTextTokens) : []);

/**
 * For a caller without a tokenizer (the API): SEQUENCE_TOO_LONG where an encoder might find no
 * room for input, each label word counted at its maxTextTokens and the input's special tokens at
 * the most any tokenizer adds.
 */
export function checkInputRoom(spec: TaskSpec, options: TaskEncoderOptions): void {
  inputRoom(spec, Math.max(0, ...labelWordBounds(spec)), MAX_INPUT_SPECIAL_TOKENS, options);
}

/** What the encoder can make of some rows at most: see sequenceBound. */
export interface SequenceBound {
  /** Positions of the longest sequence, prompt rows included. */
  readonly positions: number;
  /**
   * Sequences each example runs as: one per label for classification, as any label word may take
   * several tokens (SentencePiece puts a '▁' piece before a one-byte word), 1 for text-to-text.
   */
  readonly sequencesPerExample: number;
}

/**
 * As sequenceBound, from a dataset's summary instead of its rows (the API's submit checks): the
 * template's input counted as its own text plus each field's longest value, which bounds every
 * row's input (a row's fields are never all longer than the longest of each).
 */
export function summarySequenceBound(spec: TaskSpec, summary: DatasetSummary, options: TaskEncoderOptions): SequenceBound {
  validateTaskSpec(spec);
  checkInputRoom(spec, options);
  const words = labelWordBounds(spec);
  const longestOf = (field: string) => summary.fields[field]?.maxTextTokens ?? 0;
  // maxTextTokens counts one token more than a text's bytes: the template's own text pays it once.
  const { text, fields } = templateParts(spec.template);
  const input = maxTextTokens(text) + fields.reduce((sum, field) => sum + Math.max(0, longestOf(field) - 1), 0);
  const maxTargetTokens = spec.kind === 'text-to-text' ? (spec.maxTargetTokens ?? DEFAULT_MAX_TARGET_TOKENS) : 0;
  const after = spec.kind === 'classification' ? Math.max(0, ...words) - 1 : Math.min(maxTargetTokens, Math.max(1, longestOf(spec.targetField ?? 'target')) + 1) - 1;
  const longest = summary.rows === 0 ? 0 : options.promptRows + MAX_INPUT_SPECIAL_TOKENS + input + after;
  return { positions: Math.min(options.maxPositions, longest), sequencesPerExample: spec.kind === 'classification' ? words.length : 1 };
}

/**
 * An upper bound of the sequences TaskEncoder (and the objective after it) makes of `rows`, found
 * without a tokenizer, for a caller that has none (the API): each text counted at its
 * maxTextTokens, each input with the most special tokens any tokenizer adds. No sequence exceeds
 * maxPositions: longer inputs are cut to the room left. Throws as checkInputRoom does.
 */
export function sequenceBound(spec: TaskSpec, rows: readonly DatasetRow[], options: TaskEncoderOptions): SequenceBound {
  validateTaskSpec(spec);
  checkInputRoom(spec, options);
  const words = labelWordBounds(spec);
  const longestWord = Math.max(0, ...words);
  const maxTargetTokens = spec.kind === 'text-to-text' ? (spec.maxTargetTokens ?? DEFAULT_MAX_TARGET_TOKENS) : 0;
  let longest = 0;
  for (const row of rows) {
    const filled = fillTemplate(spec.template, row.fields);
    if ('missing' in filled) throw new EngineError('DATASET_INVALID', `line ${row.line}: no field "${filled.missing}" for the template`);
    // After the input: a label word but its last token, or the target (end-of-text included) but its last.
    const after = spec.kind === 'classification' ? longestWord - 1 : Math.min(maxTargetTokens, maxTextTokens(row.fields[spec.targetField ?? 'target'] ?? '') + 1) - 1;
    longest = Math.max(longest, options.promptRows + MAX_INPUT_SPECIAL_TOKENS + maxTextTokens(filled.text) + after);
  }
  return { positions: Math.min(options.maxPositions, longest), sequencesPerExample: spec.kind === 'classification' ? words.length : 1 };
}

export class TaskEncoder {
  /** Classification labels, in the order of the label words. */
  readonly labels: readonly string[];
  /** Token ids of each label's word. */
  readonly labelTokens: readonly (readonly number[])[];
  readonly maxTargetTokens: number;
  /** Longest input, in tokens (special tokens included), that leaves room for the prompt and the label word or target. */
  readonly maxInputTokens: number;
  private readonly truncate: boolean;

  constructor(
    readonly spec: TaskSpec,
    private readonly tokenizer: TextTokenizer,
    options: TaskEncoderOptions,
  ) {
    validateTaskSpec(spec);
    this.labels = spec.kind === 'classification' ? Object.keys(spec.labelWords) : [];
    this.labelTokens = spec.kind === 'classification' ? Object.values(spec.labelWords).map((word) => tokenizer.encodeContinuation(word)) : [];
    this.maxTargetTokens = spec.kind === 'text-to-text' ? (spec.maxTargetTokens ?? DEFAULT_MAX_TARGET_TOKENS) : 0;
    const { before, after } = tokenizer.inputSpecialTokens;
    this.maxInputTokens = inputRoom(spec, Math.max(0, ...this.labelTokens.map((t) => t.length)), before.length + after.length, options);
    this.truncate = options.truncate ?? true;
  }

  /** The input tokens of an example's fields, between the special tokens the tokenizer puts around an input. */
  encodeInput(fields: Readonly<Record<string, string>>, where = 'input'): number[] {
    const filled = fillTemplate(this.spec.template, fields);
    if ('missing' in filled) throw new EngineError('DATASET_INVALID', `${where}: no field "${filled.missing}" for the template`);
    const text = this.tokenizer.encode(filled.text);
    if (text.length === 0) throw new EngineError('DATASET_INVALID', `${where}: the filled template is empty`);
    const { before, after } = this.tokenizer.inputSpecialTokens;
    const room = this.maxInputTokens - before.length - after.length;
    if (text.length > room && !this.truncate) {
      const tokens = before.length + text.length + after.length;
      throw new EngineError('SEQUENCE_TOO_LONG', `${where}: ${tokens} input tokens exceed the ${this.maxInputTokens} that fit beside the prompt`);
    }
    // Cut from the left, keeping the template's end; the special tokens stay where Hugging Face puts them.
    return [...before, ...text.slice(-room), ...after];
  }

  encodeExample(row: DatasetRow): EncodedExample {
    const where = `line ${row.line}`;
    const input = this.encodeInput(row.fields, where);
    if (this.spec.kind === 'classification') {
      const field = this.spec.labelField ?? 'label';
      const value = row.fields[field];
      if (value === undefined) throw new EngineError('DATASET_INVALID', `${where}: no label field "${field}"`);
      const label = this.labels.indexOf(value);
      if (label < 0) throw new EngineError('DATASET_INVALID', `${where}: unknown label "${value}" (known: ${this.labels.join(', ')})`);
      return { line: row.line, input, label };
    }
    const field = this.spec.targetField ?? 'target';
    const text = row.fields[field];
    if (text === undefined) throw new EngineError('DATASET_INVALID', `${where}: no target field "${field}"`);
    const eos = this.tokenizer.eosTokenId;
    const target = [...this.tokenizer.encodeContinuation(text), ...(eos === undefined ? [] : [eos])].slice(0, this.maxTargetTokens);
    return { line: row.line, input, target };
  }

  /** Every row encoded; an empty list is an error. */
  encodeAll(rows: readonly DatasetRow[]): EncodedExample[] {
    if (rows.length === 0) throw new EngineError('DATASET_INVALID', 'the dataset has no examples');
    return rows.map((row) => this.encodeExample(row));
  }

  decode(ids: readonly number[]): string {
    return this.tokenizer.decode(ids);
  }

  get stopTokenIds(): readonly number[] {
    return this.tokenizer.stopTokenIds;
  }
}
