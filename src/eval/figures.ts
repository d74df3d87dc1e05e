/**
 * The report's figures: accuracy against trainable parameters, training-loss curves, validation
 * accuracy over the learning-rate grid, and the ablation as heat maps.
 */
import { METHOD_NAMES } from './profiles.js';
import { isValidGridCell } from './run-plan.js';
import type { Chart } from './svg-chart.js';
import type { HeatMap } from './svg-heatmap.js';
import { meanCurve, trailingMean } from './stats.js';
import { configName, type ConfigSummary } from './summarize.js';
import type { MethodTuning } from './tuning.js';

/** Loss curves are smoothed over this share of their steps. */
const SMOOTHING_SHARE = 0.05;

const chance = (majorityPercent: number) => [{ y: majorityPercent, label: `majority class ${majorityPercent.toFixed(1)} %` }];

const accuracyPoints = (summaries: readonly ConfigSummary[]) =>
  summaries.flatMap((s) => (s.accuracy && s.trainableParameters ? [{ x: s.trainableParameters, y: s.accuracy.mean, yError: s.accuracy.std }] : []));

/** One point per configuration (mean ± std over seeds). */
export function accuracyChart(title: string, comparison: readonly ConfigSummary[], majorityPercent: number): Chart {
  return {
    title: `${title}: accuracy vs trainable parameters`,
    xLabel: 'trainable parameters (log scale)',
    yLabel: 'accuracy (%)',
    xLog: true,
    series: comparison.map((s) => ({ name: configName(s), points: accuracyPoints([s]), line: false, markers: true })),
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

/** Per configuration, the training loss per step averaged over seeds, then smoothed. */
export function lossChart(title: string, comparison: readonly ConfigSummary[]): Chart {
  return {
    title: `${title}: training loss`,
    xLabel: 'step',
    yLabel: `training loss (mean over seeds, smoothed)`,
    series: comparison.map((s) => {
      const curve = meanCurve(s.results.map((result) => result.loss));
      const smooth = trailingMean(curve.map((point) => point.loss), Math.max(1, Math.round(curve.length * SMOOTHING_SHARE)));
      return { name: configName(s), points: curve.map((point, i) => ({ x: point.step, y: smooth[i]! })), line: true, markers: false };
    }),
  };
}

/** Validation accuracy of every tuning run, one line per method (and σ of LoPT-2) over the learning rates. */
export function tuningChart(title: string, tunings: readonly MethodTuning[]): Chart {
  const series = tunings.flatMap(({ method, points }) => {
    const activations = [...new Set(points.map((point) => point.activation))];
    return activations.map((activation) => ({
      name: `${METHOD_NAMES[method]}${activation ? `, σ = ${activation}` : ''}`,
      points: points.filter((point) => point.activation === activation && point.accuracy !== null).map((point) => ({ x: point.learningRate, y: point.accuracy! })),
      line: true,
      markers: true,
    }));
  });
  return { title: `${title}: learning-rate grid (validation rows)`, xLabel: 'learning rate (log scale)', yLabel: 'validation accuracy (%)', xLog: true, series };
}

/** The ablation grid as two heat maps over n × r: accuracy, and accuracy per 1,000 trainable parameters. */
export function ablationHeatMaps(title: string, grid: readonly ConfigSummary[], ns: readonly number[], rs: readonly number[]): { accuracy: HeatMap; perParameter: HeatMap } {
  const method = grid[0]?.method ?? 'lopt1';
  const cells = (value: (s: ConfigSummary) => number | null) =>
    ns.map((n) =>
      rs.map((r) => {
        if (!isValidGridCell(method, n, r)) return 'r > n';
        const summary = grid.find((s) => s.n === n && s.r === r);
        return (summary && value(summary)) ?? 'failed';
      }),
    );
  const base = { rowLabel: 'n (virtual tokens)', columnLabel: 'r (rank)', rows: ns, columns: rs };
  return {
    accuracy: { ...base, title: `${title}: ${METHOD_NAMES[method]} accuracy (%) over n × r`, values: cells((s) => s.accuracy?.mean ?? null), format: (v) => v.toFixed(1) },
    perParameter: {
      ...base,
      title: `${title}: ${METHOD_NAMES[method]} accuracy (%) per 1,000 trainable parameters`,
      values: cells((s) => (s.accuracy && s.trainableParameters ? (s.accuracy.mean / s.trainableParameters) * 1000 : null)),
      format: (v) => v.toFixed(v < 10 ? 2 : 1),
    },
  };
}
