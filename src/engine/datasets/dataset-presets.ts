import type { ReadOptions } from './dataset-row.js';

export interface DatasetPreset extends Omit<ReadOptions, 'columns' | 'source'> {
  readonly columns: Readonly<Record<string, string>>;
  /** The label values as they appear in the file, in a fixed order. */
  readonly labels: readonly string[];
  /** Human names of labels that are codes in the file. */
  readonly labelNames?: Readonly<Record<string, string>>;
}

/** How to read the datasets in `shared/datasets/` (see its README). */
export const DATASET_PRESETS = {
  sst2: {
    format: 'tsv',
    header: true,
    columns: { text: 'sentence', label: 'label' },
    labels: ['0', '1'],
    labelNames: { '0': 'negative', '1': 'positive' },
  },
  agnews: {
    format: 'csv',
    header: true,
    columns: { text: 'content', label: 'label' },
    labels: ['1', '2', '3', '4'],
    // classes.txt, in order.
    labelNames: { '1': 'World', '2': 'Sports', '3': 'Business', '4': 'Sci/Tech' },
  },
  rte: {
    format: 'jsonl',
    columns: { premise: 'premise', hypothesis: 'hypothesis', label: 'label' },
    labels: ['entailment', 'not_entailment'],
  },
  cb: {
    format: 'jsonl',
    columns: { premise: 'premise', hypothesis: 'hypothesis', label: 'label' },
    labels: ['entailment', 'contradiction', 'neutral'],
  },
  boolq: {
    format: 'jsonl',
    columns: { question: 'question', passage: 'passage', label: 'label' },
    labels: ['true', 'false'],
  },
} as const satisfies Record<string, DatasetPreset>;

export type DatasetPresetName = keyof typeof DATASET_PRESETS;
