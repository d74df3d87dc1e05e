/** The report's figures, as charts: accuracy against trainable parameters, and training-loss curves. */
import { METHOD_NAMES } from './profiles.js';
import type { Chart } from './svg-chart.js';
import { meanCurve, trailingMean } from './stats.js';
import type { ConfigSummary } from './summarize.js';

/** Loss curves are smoothed over this share of their steps. */
const SMOOTHING_SHARE = 0.05;

const chance = (majorityPercent: number) => [{ y: majorityPercent, label: `majority class ${majorityPercent.toFixed(1)} %` }];

const accuracyPoints = (summaries: readonly ConfigSummary[]) =>
  summaries.flatMap((s) => (s.accuracy && s.trainableParameters ? [{ x: s.trainableParameters, y: s.accuracy.mean, yError: s.accuracy.std }] : []));

/** One point per method (mean ± std over seeds). */
export function accuracyChart(title: string, comparison: readonly ConfigSummary[], majorityPercent: number): Chart {
  return {
    title: `${title}: accuracy vs trainable parameters`,
    xLabel: 'trainable parameters (log scale)',
    yLabel: 'accuracy (%)',
    xLog: true,
    series: comparison.map((s) => ({ name: METHOD_NAMES[s.method], points: accuracyPoints([s]), line: false, markers: true })),
    guides: chance(majorityPercent),
  };
}

/** One line per n through the ranks r, placed by parameter count. */
export function ablationChart(title: string, grid: readonly ConfigSummary[], majorityPercent: number): Chart {
  const ns = [...new Set(grid.map((s) => s.n))];
  const rs = [...new Set(grid.map((s) => s.r))].sort((a, b) => a! - b!);
  return {
    title: `${title}: ${METHOD_NAMES[grid[0]!.method]} over n × r`,
    xLabel: `trainable parameters (log scale); along a line r = ${rs.join(', ')}`,
    yLabel: 'accuracy (%)',
    xLog: true,
    series: ns.map((n) => ({ name: `n = ${n}`, points: accuracyPoints(grid.filter((s) => s.n === n)), line: true, markers: true })),
    guides: chance(majorityPercent),
  };
}

/** Per method, the training loss per step averaged over seeds, then smoothed. */
export function lossChart(title: string, comparison: readonly ConfigSummary[]): Chart {
  return {
    title: `${title}: training loss`,
    xLabel: 'step',
    yLabel: `training loss (mean over seeds, smoothed)`,
    series: comparison.map((s) => {
      const curve = meanCurve(s.results.map((result) => result.loss));
      const smooth = trailingMean(curve.map((point) => point.loss), Math.max(1, Math.round(curve.length * SMOOTHING_SHARE)));
      return { name: METHOD_NAMES[s.method], points: curve.map((point, i) => ({ x: point.step, y: smooth[i]! })), line: true, markers: false };
    }),
  };
}
