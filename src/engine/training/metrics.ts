/** Accuracy and macro-F1 (the unweighted mean of each class's F1) of predicted class indices. */
export function classificationMetrics(predicted: readonly number[], actual: readonly number[], classes: number): { accuracy: number; macroF1: number } {
  let correct = 0;
  const truePositives = new Array<number>(classes).fill(0);
  const predictedCounts = new Array<number>(classes).fill(0);
  const actualCounts = new Array<number>(classes).fill(0);
  predicted.forEach((p, i) => {
    const a = actual[i]!;
    predictedCounts[p]! += 1;
    actualCounts[a]! += 1;
    if (p === a) {
      correct += 1;
      truePositives[a]! += 1;
    }
  });
  const f1 = truePositives.map((tp, c) => {
    const denominator = predictedCounts[c]! + actualCounts[c]!;
    return denominator === 0 ? 0 : (2 * tp) / denominator;
  });
  return { accuracy: predicted.length ? correct / predicted.length : 0, macroF1: f1.reduce((a, b) => a + b, 0) / classes };
}
