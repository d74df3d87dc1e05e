/**
 * Turns dataset rows into token sequences for a task: the filled template as input, the label's
 * index (classification) or the target tokens (text-to-text). Inputs longer than the room left
 * by the prompt are cut from the left, keeping the template's end (e.g. "It was"), or refused.
 */
import type { DatasetRow } from '../datasets/dataset-row.js';
import { EngineError } from '../engine-error.js';
import type { TextTokenizer } from '../tokenizer.js';
import { fillTemplate } from './template.js';
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

export class TaskEncoder {
  /** Classification labels, in the order of the label words. */
  readonly labels: readonly string[];
  /** Token ids of each label's word. */
  readonly labelTokens: readonly (readonly number[])[];
  readonly maxTargetTokens: number;
  /** Longest input, in tokens, that leaves room for the prompt and the label word or target. */
  readonly maxInputTokens: number;
  private readonly truncate: boolean;

  constructor(
    readonly spec: TaskSpec,
    private readonly tokenizer: TextTokenizer,
    options: TaskEncoderOptions,
  ) {
    validateTaskSpec(spec);
    this.labels = spec.kind === 'classification' ? Object.keys(spec.labelWords) : [];
    this.labelTokens = spec.kind === 'classification' ? Object.values(spec.labelWords).map((word) => tokenizer.encode(word)) : [];
    this.maxTargetTokens = spec.kind === 'text-to-text' ? (spec.maxTargetTokens ?? DEFAULT_MAX_TARGET_TOKENS) : 0;
    const reserved = spec.kind === 'classification' ? Math.max(...this.labelTokens.map((t) => t.length)) - 1 : this.maxTargetTokens;
    this.maxInputTokens = options.maxPositions - options.promptRows - reserved;
    if (this.maxInputTokens < 1) {
      throw new EngineError('SEQUENCE_TOO_LONG', `${options.promptRows} prompt rows leave no room for input in ${options.maxPositions} positions`);
    }
    this.truncate = options.truncate ?? true;
  }

  /** The input tokens of an example's fields. */
  encodeInput(fields: Readonly<Record<string, string>>, where = 'input'): number[] {
    const filled = fillTemplate(this.spec.template, fields);
    if ('missing' in filled) throw new EngineError('DATASET_INVALID', `${where}: no field "${filled.missing}" for the template`);
    const ids = this.tokenizer.encode(filled.text);
    if (ids.length === 0) throw new EngineError('DATASET_INVALID', `${where}: the filled template is empty`);
    if (ids.length <= this.maxInputTokens) return ids;
    if (!this.truncate) {
      throw new EngineError('SEQUENCE_TOO_LONG', `${where}: ${ids.length} input tokens exceed the ${this.maxInputTokens} that fit beside the prompt`);
    }
    return ids.slice(ids.length - this.maxInputTokens);
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
    const target = [...this.tokenizer.encode(text), ...(eos === undefined ? [] : [eos])].slice(0, this.maxTargetTokens);
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

  get eosTokenId(): number | undefined {
    return this.tokenizer.eosTokenId;
  }
}
