import type { DatasetPresetName } from '../datasets/dataset-presets.js';
import type { ClassificationTaskSpec } from './task-spec.js';

/** Templates and label words for the datasets that have reading presets. */
export const TASK_PRESETS: Record<DatasetPresetName, ClassificationTaskSpec> = {
  sst2: { kind: 'classification', template: '{text} It was', labelWords: { '0': ' terrible', '1': ' great' } },
  agnews: {
    kind: 'classification',
    template: '{text} Topic:',
    labelWords: { '1': ' World', '2': ' Sports', '3': ' Business', '4': ' science' },
  },
  rte: {
    kind: 'classification',
    template: '{premise} Question: {hypothesis} True or False? Answer:',
    labelWords: { entailment: ' True', not_entailment: ' False' },
  },
  cb: {
    kind: 'classification',
    template: '{premise} Question: {hypothesis} True, False or Neither? Answer:',
    labelWords: { entailment: ' True', contradiction: ' False', neutral: ' Neither' },
  },
  boolq: {
    kind: 'classification',
    template: '{passage} Question: {question}? Answer:',
    labelWords: { true: ' Yes', false: ' No' },
  },
};
