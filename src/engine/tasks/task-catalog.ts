/**
 * The known tasks, in one place: how to read each one's files (format, columns, labels) and how
 * to prompt for it (template and label words). The `lopt` command's `--preset`, the API's
 * `GET /v1/tasks`, `"task": "<id>"` in a job and `?preset=<id>` on an upload all read this.
 */
import type { ReadOptions } from '../datasets/dataset-row.js';
import type { PromptStack } from '../models/frozen-model.js';
import type { ClassificationTaskSpec } from './task-spec.js';

/** How to read a task's files: format, header, field → column, and its labels. */
export interface DatasetReading extends Omit<ReadOptions, 'columns' | 'source'> {
  readonly columns: Readonly<Record<string, string>>;
  /** The label values as they appear in the file, in a fixed order. */
  readonly labels: readonly string[];
  /** Human names of labels that are codes in the file. */
  readonly labelNames?: Readonly<Record<string, string>>;
}

export interface CatalogTask {
  readonly title: string;
  readonly description: string;
  readonly reading: DatasetReading;
  readonly task: ClassificationTaskSpec;
  /**
   * The task for an encoder-decoder (T5), where the decoder-only template, which ends where the
   * answer begins, does not fit: T5's own format (`rte sentence1: … sentence2: …`) with the label
   * names as the decoder's targets, as T5 was trained and prompt-tuned on SuperGLUE.
   */
  readonly encoderTask?: ClassificationTaskSpec;
}

export const TASK_CATALOG = {
  sst2: {
    title: 'SST-2',
    description: 'Movie-review sentiment, GLUE TSV (`sentence<TAB>label`, header).',
    reading: {
      format: 'tsv',
      header: true,
      columns: { text: 'sentence', label: 'label' },
      labels: ['0', '1'],
      labelNames: { '0': 'negative', '1': 'positive' },
    },
    task: { kind: 'classification', template: '{text} It was', labelWords: { '0': ' terrible', '1': ' great' } },
  },
  ag_news: {
    title: 'AG News',
    description: 'News topic, CSV (`label,content`, header; labels 1–4 in the order of classes.txt).',
    reading: {
      format: 'csv',
      header: true,
      columns: { text: 'content', label: 'label' },
      labels: ['1', '2', '3', '4'],
      labelNames: { '1': 'World', '2': 'Sports', '3': 'Business', '4': 'Sci/Tech' },
    },
    task: {
      kind: 'classification',
      template: '{text} Topic:',
      // " science" in lower case, beside capitalised words, is the model card's choice (gpt2-mini's
      // README): its independent PyTorch reference numbers were measured with these words, so
      // ours compare with them. " Science" is one token too (5800); a job may name its own.
      labelWords: { '1': ' World', '2': ' Sports', '3': ' Business', '4': ' science' },
    },
  },
  rte: {
    title: 'RTE',
    description: 'Textual entailment (SuperGLUE), JSONL with premise, hypothesis and label.',
    reading: {
      format: 'jsonl',
      columns: { premise: 'premise', hypothesis: 'hypothesis', label: 'label' },
      labels: ['entailment', 'not_entailment'],
    },
    task: {
      kind: 'classification',
      template: '{premise} Question: {hypothesis} True or False? Answer:',
      labelWords: { entailment: ' True', not_entailment: ' False' },
    },
    encoderTask: {
      kind: 'classification',
      template: 'rte sentence1: {premise} sentence2: {hypothesis}',
      labelWords: { entailment: 'entailment', not_entailment: 'not_entailment' },
    },
  },
  cb: {
    title: 'CB',
    description: 'CommitmentBank entailment, three-way (SuperGLUE), JSONL with premise, hypothesis and label.',
    reading: {
      format: 'jsonl',
      columns: { premise: 'premise', hypothesis: 'hypothesis', label: 'label' },
      labels: ['entailment', 'contradiction', 'neutral'],
    },
    task: {
      kind: 'classification',
      template: '{premise} Question: {hypothesis} True, False or Neither? Answer:',
      labelWords: { entailment: ' True', contradiction: ' False', neutral: ' Neither' },
    },
    encoderTask: {
      kind: 'classification',
      template: 'cb hypothesis: {hypothesis} premise: {premise}',
      labelWords: { entailment: 'entailment', contradiction: 'contradiction', neutral: 'neutral' },
    },
  },
  boolq: {
    title: 'BoolQ',
    description: 'Yes/no questions about a passage (SuperGLUE), JSONL with question, passage and label.',
    reading: {
      format: 'jsonl',
      columns: { question: 'question', passage: 'passage', label: 'label' },
      labels: ['true', 'false'],
    },
    task: {
      kind: 'classification',
      template: '{passage} Question: {question}? Answer:',
      labelWords: { true: ' Yes', false: ' No' },
    },
    encoderTask: {
      kind: 'classification',
      template: 'boolq question: {question} passage: {passage}',
      labelWords: { true: 'True', false: 'False' },
    },
  },
} as const satisfies Record<string, CatalogTask>;

export type TaskId = keyof typeof TASK_CATALOG;

/** The task a catalog entry prompts a model with whose prompt goes in front of `stack`. */
export function catalogTaskSpec(entry: CatalogTask, stack: PromptStack): ClassificationTaskSpec {
  return stack === 'encoder' && entry.encoderTask ? entry.encoderTask : entry.task;
}
export const TASK_IDS = Object.keys(TASK_CATALOG) as TaskId[];

export function isTaskId(name: unknown): name is TaskId {
  return typeof name === 'string' && Object.hasOwn(TASK_CATALOG, name);
}
