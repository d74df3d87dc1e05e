/** docs/results.md, written from the evaluation's results only. */
import { isValidGridCell } from './run-plan.js';
import { METHOD_NAMES, type Ablation, type DatasetPlan, type Profile } from './profiles.js';
import type { Machine } from './machine-info.js';
import type { RunResult } from './run-jobs.js';
import type { ConfigSummary } from './summarize.js';
import { LEARNT_MARGIN_POINTS, MATCH_TOLERANCE_POINTS, type ClaimOutcome, type DatasetVerdict } from './verdict.js';

export interface DatasetSection {
  readonly title: string;
  readonly plan: DatasetPlan;
  readonly trainOrigin: string;
  readonly evalOrigin: string;
  readonly majorityPercent: number;
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
  readonly ablation?: { readonly title: string; readonly spec: Ablation; readonly grid: readonly ConfigSummary[]; readonly figure?: string; readonly majorityPercent: number };
  readonly results: readonly RunResult[];
}

const integer = (value: number | null) => (value === null ? '?' : value.toLocaleString('en-US'));
const accuracy = (s: ConfigSummary) => (s.accuracy ? `${s.accuracy.mean.toFixed(1)} ± ${s.accuracy.std.toFixed(1)}` : 'failed');
const minutes = (seconds: number) => `${(seconds / 60).toFixed(1)} min`;
const figureLinks = (paths: readonly string[]) => paths.map((path) => `![${path}](${path})`).join('\n');

function comparisonTable(section: DatasetSection): string {
  const pt = section.comparison.find((s) => s.method === 'pt')?.trainableParameters ?? null;
  const rows = section.comparison.map((s) => {
    const fewer = pt && s.trainableParameters ? `${(pt / s.trainableParameters).toFixed(1)}×` : '?';
    const runs = s.accuracy ? `${s.accuracy.runs}/${s.results.length}` : `0/${s.results.length}`;
    const f1 = s.macroF1 === null ? '–' : s.macroF1.toFixed(1);
    const wall = s.wallSeconds === null ? '–' : s.wallSeconds.toFixed(0);
    return `| ${METHOD_NAMES[s.method]} | ${s.n} | ${s.r ?? '–'} | ${integer(s.trainableParameters)} | ${fewer} | ${accuracy(s)} | ${runs} | ${f1} | ${wall} |`;
  });
  return [
    '| method | n | r | trainable parameters | × fewer than PT | accuracy % (mean ± std) | runs ok | macro-F1 % (3+ labels) | wall-clock per run (s) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function datasetSection(section: DatasetSection): string {
  const { budget } = section.plan;
  return [
    `## ${section.title}`,
    '',
    `Trained on ${section.trainOrigin}; scored on ${section.evalOrigin}. ${budget.steps} steps of batch ${budget.batchSize}, learning rate ${budget.learningRate}.`,
    '',
    comparisonTable(section),
    '',
    `**Verdict: ${section.verdict.outcomes.map(({ method, outcome }) => `${METHOD_NAMES[method]} ${outcome}`).join('; ')}.** ${section.verdict.text}`,
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
  return [
    `## Ablation: ${METHOD_NAMES[spec.method]} on ${ablation.title} over n × r`,
    '',
    `Accuracy % (mean ± std over seeds) and, in brackets, trainable parameters; majority class ${ablation.majorityPercent.toFixed(1)} %. Same data and budget as the ${ablation.title} comparison.${range}`,
    '',
    `| n \\ r | ${spec.rs.join(' | ')} |`,
    `|---|${spec.rs.map(() => '---').join('|')}|`,
    ...spec.ns.map((n) => `| ${n} | ${spec.rs.map((r) => cell(n, r)).join(' | ')} |`),
    '',
    ablation.figure ? figureLinks([ablation.figure]) : '',
  ].join('\n');
}

function runsTable(results: readonly RunResult[]): string {
  return [
    '| run | job | status | accuracy % | wall-clock (s) |',
    '|---|---|---|---|---|',
    ...results.map((r) => `| ${r.run.key} | ${r.jobId} | ${r.error ? `${r.status}: ${r.error}` : r.status} | ${r.accuracy === null ? '–' : (r.accuracy * 100).toFixed(1)} | ${r.wallSeconds?.toFixed(0) ?? '–'} |`),
  ].join('\n');
}

export function renderReport(input: ReportInput): string {
  const { machine, profile } = input;
  const byOutcome = (outcome: ClaimOutcome) =>
    input.datasets.flatMap((d) => d.verdict.outcomes.filter((o) => o.outcome === outcome).map((o) => `${d.title} (${METHOD_NAMES[o.method]})`)).join(', ') || 'none';
  return [
    `# LoPT against prompt tuning on ${input.model}`,
    '',
    '_Written by the command below from what the service measured; do not edit by hand, run it again._',
    '',
    `- **Command:** \`${input.command}\` (profile \`${profile.name}\`: ${profile.summary})`,
    `- **Date:** ${input.date.toISOString().slice(0, 16).replace('T', ' ')} UTC; the whole command took ${minutes(input.totalSeconds)} (${input.results.length} runs).`,
    `- **Machine:** ${machine.cpuModel}, ${machine.cores} cores, ${machine.memoryGiB} GiB; ${machine.os}; Node ${machine.node}; TensorFlow.js backend \`${input.backend}\` (from \`/readyz\`).`,
    `- **Service:** ${input.service}; checkout ${machine.revision}.`,
    `- **Runs:** ${profile.methods.map((m) => METHOD_NAMES[m]).join(', ')}; seeds ${profile.seeds.join(', ')}. Every method of a dataset trains on the same rows with the same budget and seeds, and is scored once, after its last step, on the same evaluation rows (the job's validation set, \`evalEvery: 0\`), so no run is picked by its score. Wall-clock per run: from the job's start in a worker to its end (reading the data, training, the final evaluation).`,
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
