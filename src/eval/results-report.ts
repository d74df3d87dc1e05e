/** docs/results.md, written from the evaluation's results only. */
import { isValidGridCell } from './run-plan.js';
import { COMPARISON, METHOD_NAMES, type Ablation, type DatasetPlan, type Profile } from './profiles.js';
import type { Machine } from './machine-info.js';
import type { RunResult } from './run-jobs.js';
import { FLAT_CHANGE, lastTenthChange, meanCurve, tailState, type PairedDifference, type TailChange, type TailState } from './stats.js';
import { configName, pairedAgainst, type ConfigSummary } from './summarize.js';
import { gridEdge, type MethodTuning, type TuningPoint } from './tuning.js';
import { LEARNT_MARGIN_POINTS, MATCH_TOLERANCE_POINTS, type ClaimOutcome, type DatasetVerdict } from './verdict.js';

export interface DatasetSection {
  readonly title: string;
  readonly plan: DatasetPlan;
  readonly trainOrigin: string;
  readonly validationOrigin: string;
  readonly evalOrigin: string;
  readonly majorityPercent: number;
  readonly tunings: readonly MethodTuning[];
  readonly comparison: readonly ConfigSummary[];
  readonly verdict: DatasetVerdict;
  /** Paths relative to the report. */
  readonly figures: readonly string[];
}

export interface ReportInput {
  readonly command: string;
  readonly date: Date;
  readonly totalSeconds: number;
  readonly profile: Profile;
  readonly machine: Machine;
  readonly backend: string;
  /** How the service ran, e.g. "started by the command, 2 worker processes". */
  readonly service: string;
  readonly model: string;
  readonly datasets: readonly DatasetSection[];
  readonly ablation?: { readonly title: string; readonly spec: Ablation; readonly grid: readonly ConfigSummary[]; readonly figures: readonly string[]; readonly majorityPercent: number };
  readonly results: readonly RunResult[];
}

const integer = (value: number | null) => (value === null ? '?' : value.toLocaleString('en-US'));
const accuracy = (s: ConfigSummary) => (s.accuracy ? `${s.accuracy.mean.toFixed(1)} ± ${s.accuracy.std.toFixed(1)}` : 'failed');
const minutes = (seconds: number) => `${(seconds / 60).toFixed(1)} min`;
const figureLinks = (paths: readonly string[]) => paths.map((path) => `![${path}](${path})`).join('\n');

const settingText = ({ setting }: ConfigSummary) => `${setting.learningRate}${setting.activation ? `, σ ${setting.activation}` : ''}`;

/** "−1.2 ± 0.8 (95 % CI ±2.0, 3 seeds)": the paired difference against PT in points. */
function pairedText(paired: PairedDifference | null): string {
  if (!paired) return '–';
  const interval = paired.halfWidth95 === null ? '' : `, 95 % CI ±${paired.halfWidth95.toFixed(1)}`;
  return `${paired.mean >= 0 ? '+' : '−'}${Math.abs(paired.mean).toFixed(1)} ± ${paired.std.toFixed(1)} (${paired.pairs} seeds${interval})`;
}

function comparisonTable(section: DatasetSection): string {
  const ptSummary = section.comparison.find((s) => s.method === 'pt');
  const pt = ptSummary?.trainableParameters ?? null;
  const rows = section.comparison.map((s) => {
    const fewer = pt && s.trainableParameters ? `${(pt / s.trainableParameters).toFixed(1)}×` : '?';
    const runs = s.accuracy ? `${s.accuracy.runs}/${s.results.length}` : `0/${s.results.length}`;
    const f1 = s.macroF1 === null ? '–' : s.macroF1.toFixed(1);
    const wall = s.wallSeconds === null ? '–' : s.wallSeconds.toFixed(0);
    const paired = ptSummary && s !== ptSummary ? pairedText(pairedAgainst(ptSummary, s)) : '–';
    return `| ${configName(s)} | ${s.n} | ${s.r ?? '–'} | ${integer(s.trainableParameters)} | ${fewer} | ${settingText(s)} | ${accuracy(s)} | ${paired} | ${runs} | ${f1} | ${wall} |`;
  });
  return [
    '| configuration | n | r | trainable parameters | × fewer than PT | learning rate (σ), tuned | accuracy % (mean ± std) | − PT, paired by seed (points) | runs ok | macro-F1 % (3+ labels) | wall-clock per run (s) |',
    '|---|---|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** Validation accuracy of every tuning run, a row per method (and σ), the chosen point in bold. */
function tuningTable(tunings: readonly MethodTuning[]): string {
  const rates = [...new Set(tunings.flatMap((t) => t.points.map((p) => p.learningRate)))].sort((a, b) => a - b);
  const cell = (tuning: MethodTuning, point: TuningPoint | undefined) => {
    if (!point) return '';
    const text = point.accuracy === null ? 'failed' : point.accuracy.toFixed(1);
    return point === tuning.chosen ? `**${text}**` : text;
  };
  const rows = tunings.flatMap((tuning) =>
    [...new Set(tuning.points.map((p) => p.activation))].map((activation) => {
      const label = `${METHOD_NAMES[tuning.method]}${activation ? `, σ = ${activation}` : ''}`;
      return `| ${label} | ${rates.map((rate) => cell(tuning, tuning.points.find((p) => p.learningRate === rate && p.activation === activation))).join(' | ')} |`;
    }),
  );
  return [`| validation accuracy % | ${rates.map((rate) => `lr ${rate}`).join(' | ')} |`, `|---|${rates.map(() => '---').join('|')}|`, ...rows].join('\n');
}

/** A line for each method whose chosen rate is an end of its grid (tuning.gridEdge), followed by a blank line; none if no method's is. */
function gridEdgeLines(tunings: readonly MethodTuning[]): string[] {
  const lines = tunings.flatMap((tuning) => {
    const edge = gridEdge(tuning);
    return edge ? [`- ${METHOD_NAMES[tuning.method]}'s chosen rate, ${tuning.chosen!.learningRate}, is the grid's ${edge}: a rate beyond it might score better.`] : [];
  });
  return lines.length ? [...lines, ''] : [];
}

/** Whether the training losses had flattened by the last step, configuration by configuration (stats.tailState). */
function convergenceLine(section: DatasetSection): string {
  const changes = section.comparison.map((s) => ({ name: configName(s), tail: lastTenthChange(meanCurve(s.results.map((result) => result.loss))) }));
  const known = changes.filter((c): c is { name: string; tail: TailChange } => c.tail !== null);
  if (known.length === 0) return '**Convergence:** the training-loss curves are too short to tell (under 20 steps).';
  const percent = (share: number) => `${share >= 0 ? '+' : '−'}${Math.abs(share * 100).toFixed(1)} %`;
  const names = (state: TailState) => known.filter(({ tail }) => tailState(tail) === state).map(({ name }) => name);
  const [moving, withinNoise] = [names('moving'), names('within noise')];
  return [
    `**Convergence:** mean training loss over the last tenth of the steps against the tenth before (± its 95 % noise interval): ${known.map(({ name, tail }) => `${name} ${percent(tail.change)} ± ${(tail.halfWidth95 * 100).toFixed(1)}`).join(', ')}.`,
    convergenceVerdict(moving, withinNoise, known.length < changes.length),
  ].join(' ');
}

/** The convergence line's conclusion from the configurations still moving and those moving within their noise. */
function convergenceVerdict(moving: readonly string[], withinNoise: readonly string[], someTooShort: boolean): string {
  const flat = `${FLAT_CHANGE * 100} %`;
  if (moving.length) return `**Not converged:** ${moving.join(', ')} still move${moving.length === 1 ? 's' : ''} by more than ${flat} and more than the noise; a longer budget may change the comparison.`;
  if (someTooShort) return '**Not converged:** some curve is too short to tell; a longer budget may change the comparison.';
  if (withinNoise.length) return `Every configuration moves by at most ${flat} or by less than its noise (${withinNoise.join(', ')}): the budget has converged as far as these seeds can tell.`;
  return `Every configuration moves by at most ${flat}: the budget has converged.`;
}

function datasetSection(section: DatasetSection): string {
  const { budget } = section.plan;
  return [
    `## ${section.title}`,
    '',
    `Trained on ${section.trainOrigin}; learning rates chosen on ${section.validationOrigin}; scored on ${section.evalOrigin}. ${budget.steps} steps of batch ${budget.batchSize} for every run.`,
    '',
    `**Tuning** (one run per point at n = ${COMPARISON.n}, LoPT at r = ${COMPARISON.r}; the chosen point in bold):`,
    '',
    tuningTable(section.tunings),
    '',
    ...gridEdgeLines(section.tunings),
    '**Comparison** (each configuration with its method\'s tuned setting, scored once on the evaluation rows):',
    '',
    comparisonTable(section),
    '',
    convergenceLine(section),
    '',
    `**Verdict: ${section.verdict.outcomes.map(({ config, outcome }) => `${config} ${outcome}`).join('; ')}.** ${section.verdict.text}`,
    '',
    figureLinks(section.figures),
  ].join('\n');
}

function ablationSection(ablation: NonNullable<ReportInput['ablation']>): string {
  const { spec, grid } = ablation;
  const cell = (n: number, r: number) => {
    if (!isValidGridCell(spec.method, n, r)) return '— (r > n)';
    const summary = grid.find((s) => s.n === n && s.r === r);
    return summary ? `${accuracy(summary)} (${integer(summary.trainableParameters)})` : '–';
  };
  const means = grid.flatMap((s) => (s.accuracy ? [s.accuracy.mean] : []));
  const range = means.length ? ` Across the grid the mean accuracy runs from ${Math.min(...means).toFixed(1)} to ${Math.max(...means).toFixed(1)} %.` : '';
  const setting = grid[0] ? ` Learning rate ${settingText(grid[0])} (${METHOD_NAMES[spec.method]}'s tuned setting); seeds ${spec.seeds.join(', ')}.` : '';
  return [
    `## Ablation: ${METHOD_NAMES[spec.method]} on ${ablation.title} over n × r`,
    '',
    `Accuracy % (mean ± std over seeds) and, in brackets, trainable parameters; majority class ${ablation.majorityPercent.toFixed(1)} %. Same data and budget as the ${ablation.title} comparison.${setting}${range}`,
    '',
    `| n \\ r | ${spec.rs.join(' | ')} |`,
    `|---|${spec.rs.map(() => '---').join('|')}|`,
    ...spec.ns.map((n) => `| ${n} | ${spec.rs.map((r) => cell(n, r)).join(' | ')} |`),
    '',
    figureLinks(ablation.figures),
  ].join('\n');
}

function runsTable(results: readonly RunResult[]): string {
  return [
    '| run | job | status | accuracy % (validation when tuning) | wall-clock (s) |',
    '|---|---|---|---|---|',
    ...results.map((r) => `| ${r.run.key} | ${r.jobId} | ${r.error ? `${r.status}: ${r.error}` : r.status} | ${r.accuracy === null ? '–' : (r.accuracy * 100).toFixed(1)} | ${r.wallSeconds?.toFixed(0) ?? '–'} |`),
  ].join('\n');
}

function protocol(profile: Profile): string {
  const { learningRates, activations, seed } = profile.tuning;
  const ablation = profile.ablation ? ` The ablation trains ${METHOD_NAMES[profile.ablation.method]} with its tuned setting on seeds ${profile.ablation.seeds.join(', ')}.` : '';
  return [
    `each method's learning rate (grid ${learningRates.join(', ')}) and LoPT-2's σ (${activations.join(', ')}) are chosen per dataset by accuracy on validation rows carved from the training file (one run per point, seed ${seed}, at n = ${COMPARISON.n} and LoPT r = ${COMPARISON.r}; ties to the lower validation loss).`,
    `With that setting every configuration of the method (PT at n = ${COMPARISON.n}; LoPT-1 and LoPT-2 at r = ${profile.ranks.join(', ')}) trains on seeds ${profile.seeds.join(', ')} and is scored once, after its last step, on the evaluation rows, which no choice looks at.`,
    `Every run of a dataset has the same rows and budget.${ablation} Wall-clock per run: from the job's start in a worker to its end (reading the data, training, the final evaluation).`,
  ].join(' ');
}

export function renderReport(input: ReportInput): string {
  const { machine, profile } = input;
  const byOutcome = (outcome: ClaimOutcome) =>
    input.datasets.flatMap((d) => d.verdict.outcomes.filter((o) => o.outcome === outcome).map((o) => `${d.title} (${o.config})`)).join(', ') || 'none';
  return [
    `# LoPT against prompt tuning on ${input.model}`,
    '',
    '_Written by the command below from what the service measured; do not edit by hand, run it again._',
    '',
    `- **Command:** \`${input.command}\` (profile \`${profile.name}\`: ${profile.summary})`,
    `- **Date:** ${input.date.toISOString().slice(0, 16).replace('T', ' ')} UTC; the whole command took ${minutes(input.totalSeconds)} (${input.results.length} runs).`,
    `- **Machine:** ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.os}; Node ${machine.node}; TensorFlow.js backend \`${input.backend}\` (from \`/readyz\`).`,
    `- **Service:** ${input.service}; checkout ${machine.revision}.`,
    `- **Protocol:** ${protocol(profile)}`,
    '',
    '## Verdict',
    '',
    `The paper's claim: LoPT matches full prompt tuning (PT) with about 5× fewer trainable parameters. Here a LoPT variant "matches" when its mean accuracy is no more than ${MATCH_TOLERANCE_POINTS} point below PT's (or the seeds' combined spread, if wider); a dataset tests the claim only if some method is at least ${LEARNT_MARGIN_POINTS} points above the majority class.`,
    '',
    `- Held on: ${byOutcome('held')}.`,
    `- Did not hold on: ${byOutcome('did not hold')}.`,
    `- Could not be tested on: ${byOutcome('untestable')}.`,
    '',
    ...input.datasets.map((section) => `${datasetSection(section)}\n`),
    ...(input.ablation ? [`${ablationSection(input.ablation)}\n`] : []),
    '## Every run',
    '',
    runsTable(input.results),
    '',
  ].join('\n');
}
