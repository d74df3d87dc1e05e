/** What an evaluation of a classification prompt reports: overall scores, the confusion matrix, and each class's counts. */

export interface ClassReport {
  /** Examples of the class. */
  readonly support: number;
  /** Examples predicted as the class. */
  readonly predicted: number;
  readonly correct: number;
  /** correct / predicted (0 when none was predicted), correct / support (0 when it has none), and their harmonic mean. */
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
}

export interface ClassificationReport {
  readonly examples: number;
  /** Mean cross-entropy over the labels' scores. */
  readonly loss: number;
  readonly accuracy: number;
  /** The unweighted mean of the classes' F1. */
  readonly macroF1: number;
  /** The labels, in the order of the matrix's rows and columns. */
  readonly labels: readonly string[];
  /** confusionMatrix[a][p]: examples of label a predicted as label p. */
  readonly confusionMatrix: readonly (readonly number[])[];
  readonly perClass: Readonly<Record<string, ClassReport>>;
}

/** The report of `predicted` against `actual` (indices into `labels`), with the evaluation's mean loss. */
export function classificationReport(predicted: readonly number[], actual: readonly number[], labels: readonly string[], loss: number): ClassificationReport {
  const confusionMatrix = labels.map(() => labels.map(() => 0));
  predicted.forEach((p, i) => (confusionMatrix[actual[i]!]![p]! += 1));
  const perClass = labels.map((_, c) => {
    const correct = confusionMatrix[c]![c]!;
    const support = confusionMatrix[c]!.reduce((a, b) => a + b, 0);
    const predictedAs = confusionMatrix.reduce((sum, row) => sum + row[c]!, 0);
    const precision = predictedAs ? correct / predictedAs : 0;
    const recall = support ? correct / support : 0;
    return { support, predicted: predictedAs, correct, precision, recall, f1: support + predictedAs ? (2 * correct) / (support + predictedAs) : 0 };
  });
  const correct = perClass.reduce((sum, c) => sum + c.correct, 0);
  return {
    examples: predicted.length,
    loss,
    accuracy: predicted.length ? correct / predicted.length : 0,
    macroF1: perClass.reduce((sum, c) => sum + c.f1, 0) / labels.length,
    labels,
    confusionMatrix,
    perClass: Object.fromEntries(labels.map((label, c) => [label, perClass[c]!])),
  };
}
