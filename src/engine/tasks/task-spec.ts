/** What a prompt is trained to do, and how examples become token sequences. */
import { EngineError } from '../engine-error.js';
import { templateFields } from './template.js';

export interface ClassificationTaskSpec {
  readonly kind: 'classification';
  /** Input text with `{field}` placeholders filled from each example, e.g. `{text} It was`. */
  readonly template: string;
  /**
   * Label (as it appears in the data) → its label word, e.g. `{"0": " terrible", "1": " great"}`.
   * A word of several tokens scores the sum of its tokens' log-probabilities.
   */
  readonly labelWords: Readonly<Record<string, string>>;
  /** The example field holding the label. @defaultValue `label` */
  readonly labelField?: string;
}

export interface TextToTextTaskSpec {
  readonly kind: 'text-to-text';
  /** Input text with `{field}` placeholders, e.g. `Question: {question} Answer:`. */
  readonly template: string;
  /** The example field holding the target text. @defaultValue `target` */
  readonly targetField?: string;
  /** Longest target, in tokens, for training and generation. @defaultValue `32` */
  readonly maxTargetTokens?: number;
}

export type TaskSpec = ClassificationTaskSpec | TextToTextTaskSpec;

export function validateTaskSpec(spec: TaskSpec): void {
  const fail = (message: string) => new EngineError('BAD_ARGUMENT', message);
  if (spec.kind !== 'classification' && spec.kind !== 'text-to-text') {
    throw fail(`task kind must be classification or text-to-text, got ${JSON.stringify((spec as { kind: unknown }).kind)}`);
  }
  if (typeof spec.template !== 'string' || templateFields(spec.template).length === 0) {
    throw fail(`template must name at least one {field}, got ${JSON.stringify(spec.template)}`);
  }
  if (spec.kind === 'classification') {
    const words = Object.entries(spec.labelWords ?? {});
    if (words.length < 2) throw fail('a classification task needs label words for at least two labels');
    const empty = words.find(([, word]) => typeof word !== 'string' || word.length === 0);
    if (empty) throw fail(`label "${empty[0]}" has no label word`);
  } else if (spec.maxTargetTokens !== undefined && (!Number.isInteger(spec.maxTargetTokens) || spec.maxTargetTokens < 1)) {
    throw fail(`maxTargetTokens must be an integer ≥ 1, got ${spec.maxTargetTokens}`);
  }
}
