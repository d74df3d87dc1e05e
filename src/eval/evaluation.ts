/**
 * The evaluation against a running service: upload each dataset's files, run every job of the
 * profile, and write results.md and its figures from what the service reports.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareData, type PreparedData } from './eval-data.js';
import type { EvalOptions } from './eval-options.js';
import { ablationChart, accuracyChart, lossChart } from './figures.js';
import { describeMachine } from './machine-info.js';
import { COMPARISON, type EvalTaskId } from './profiles.js';
import { renderReport, type DatasetSection, type ReportInput } from './results-report.js';
import { runAll, type RunResult, type UploadedData } from './run-jobs.js';
import { planRuns } from './run-plan.js';
import type { ServiceClient } from './service-client.js';
import { summarize, type ConfigSummary } from './summarize.js';
import { renderChart, type Chart } from './svg-chart.js';
import { datasetVerdict } from './verdict.js';

const POLL_MS = 2000;
const FIGURES = 'figures';
/** The figures this command writes, so that those of an earlier run do not linger beside the new report. */
const FIGURE_NAME = /^(accuracy|loss|ablation)-\w+\.svg$/;

export interface EvaluationContext {
  readonly repoDir: string;
  /** How the service runs, for the report. */
  readonly service: string;
  readonly log: (line: string) => void;
  /** When the command started, for its total time. */
  readonly startedAt: Date;
}

export async function runEvaluation(client: ServiceClient, options: EvalOptions, context: EvaluationContext): Promise<{ results: RunResult[]; reportPath: string }> {
  const { profile, model } = options;
  const { log, startedAt } = context;
  const backend = await client.readiness();
  if (!(await client.modelIds()).includes(model)) throw new Error(`the service has no model ${model}`);
  const presets = await client.tasks();

  const prepared = new Map<EvalTaskId, PreparedData>();
  const uploaded = new Map<EvalTaskId, UploadedData>();
  for (const plan of profile.datasets) {
    const preset = presets.find((p) => p.id === plan.task);
    if (!preset) throw new Error(`the service's task catalog has no ${plan.task}`);
    const data = prepareData(options.datasetsDir, plan, preset);
    const train = await client.uploadDataset(`${plan.task}-train-${data.train.rows}`, plan.task, data.train.content);
    const evaluation = await client.uploadDataset(`${plan.task}-eval-${data.evaluation.rows}`, plan.task, data.evaluation.content);
    prepared.set(plan.task, data);
    uploaded.set(plan.task, { trainId: train.id, trainRows: train.rowCount, evalId: evaluation.id });
    log(`uploaded ${plan.task}: ${train.rowCount} training and ${evaluation.rowCount} evaluation rows`);
  }

  const runs = planRuns(profile);
  const results = await runAll(client, runs, { model, data: uploaded, session: `paper-${startedAt.getTime()}`, pollMs: POLL_MS, log });
  const summaries = summarize(results);

  const figuresDir = join(options.outDir, FIGURES);
  await mkdir(figuresDir, { recursive: true });
  for (const name of await readdir(figuresDir)) if (FIGURE_NAME.test(name)) await rm(join(figuresDir, name));
  const figure = async (name: string, chart: Chart): Promise<string[]> => {
    if (!chart.series.some((series) => series.points.length)) return [];
    await writeFile(join(figuresDir, name), renderChart(chart));
    return [`${FIGURES}/${name}`];
  };

  const titleOf = (task: EvalTaskId) => presets.find((p) => p.id === task)!.title;
  const majorityPercent = (task: EvalTaskId) => prepared.get(task)!.evaluation.majorityShare * 100;
  const isComparison = (s: ConfigSummary) => s.n === COMPARISON.n && (s.method === 'pt' || s.r === COMPARISON.r);
  const datasets: DatasetSection[] = [];
  for (const plan of profile.datasets) {
    const comparison = summaries.filter((s) => s.task === plan.task && isComparison(s));
    const title = titleOf(plan.task);
    const data = prepared.get(plan.task)!;
    const pt = comparison.find((s) => s.method === 'pt');
    datasets.push({
      title,
      plan,
      trainOrigin: data.train.origin,
      evalOrigin: data.evaluation.origin,
      majorityPercent: majorityPercent(plan.task),
      comparison,
      verdict: datasetVerdict(pt, comparison.filter((s) => s !== pt), majorityPercent(plan.task)),
      figures: [
        ...(await figure(`accuracy-${plan.task}.svg`, accuracyChart(title, comparison, majorityPercent(plan.task)))),
        ...(await figure(`loss-${plan.task}.svg`, lossChart(title, comparison))),
      ],
    });
  }

  let ablation: ReportInput['ablation'];
  if (profile.ablation) {
    const spec = profile.ablation;
    const grid = summaries.filter((s) => s.task === spec.task && s.method === spec.method && spec.ns.includes(s.n) && spec.rs.includes(s.r!));
    const title = titleOf(spec.task);
    const [path] = await figure(`ablation-${spec.task}.svg`, ablationChart(title, grid, majorityPercent(spec.task)));
    ablation = { title, spec, grid, majorityPercent: majorityPercent(spec.task), ...(path ? { figure: path } : {}) };
  }

  const report = renderReport({
    command: options.command,
    date: startedAt,
    totalSeconds: (Date.now() - startedAt.getTime()) / 1000,
    profile,
    machine: describeMachine(context.repoDir),
    backend,
    service: context.service,
    model,
    datasets,
    ...(ablation ? { ablation } : {}),
    results,
  });
  const reportPath = join(options.outDir, 'results.md');
  await writeFile(reportPath, report);
  return { results, reportPath };
}
