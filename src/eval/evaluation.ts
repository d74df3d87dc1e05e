/**
 * The evaluation against a running service: upload each dataset's files (training rows,
 * validation rows carved from the training file, evaluation rows), run the tuning jobs, pick each
 * method's setting from their validation scores, run the final jobs with those settings, and
 * write results.md and its figures from what the service reports.
 */
import { mkdir, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { prepareData, type PreparedData } from './eval-data.js';
import type { EvalOptions } from './eval-options.js';
import { ablationChart, ablationHeatMaps, accuracyChart, lossChart, tuningChart } from './figures.js';
import { describeMachine } from './machine-info.js';
import { COMPARISON, type EvalTaskId } from './profiles.js';
import { renderReport, type DatasetSection, type ReportInput } from './results-report.js';
import { runAll, type RunResult, type UploadedData } from './run-jobs.js';
import { planFinalRuns, planTuningRuns } from './run-plan.js';
import type { ServiceClient } from './service-client.js';
import { summarize } from './summarize.js';
import { renderChart, type Chart } from './svg-chart.js';
import { renderHeatMap, type HeatMap } from './svg-heatmap.js';
import { chooseSettings } from './tuning.js';
import { datasetVerdict } from './verdict.js';

const POLL_MS = 2000;
const FIGURES = 'figures';
/** The figures this command writes (kind, then what and which dataset), so that those of an earlier run do not linger beside the new report. */
export const isOwnFigure = (name: string) => /^(accuracy|loss|ablation|tuning)-[\w-]+\.svg$/.test(name);

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
  // Read now: the checkout that runs is the one to name, whatever changes while the jobs train.
  const machine = describeMachine(context.repoDir);
  const backend = await client.readiness();
  if (!(await client.modelIds()).includes(model)) throw new Error(`the service has no model ${model}`);
  const presets = await client.tasks();

  const prepared = new Map<EvalTaskId, PreparedData>();
  const uploaded = new Map<EvalTaskId, UploadedData>();
  for (const plan of profile.datasets) {
    const preset = presets.find((p) => p.id === plan.task);
    if (!preset) throw new Error(`the service's task catalog has no ${plan.task}`);
    const data = prepareData(options.datasetsDir, plan, preset);
    const upload = (part: string, file: { rows: number; content: string }) => client.uploadDataset(`${plan.task}-${part}-${file.rows}`, plan.task, file.content);
    const [train, validation, evaluation] = [await upload('train', data.train), await upload('validation', data.validation), await upload('eval', data.evaluation)];
    prepared.set(plan.task, data);
    uploaded.set(plan.task, { trainId: train.id, trainRows: train.rowCount, validationId: validation.id, evalId: evaluation.id });
    log(`uploaded ${plan.task}: ${train.rowCount} training, ${validation.rowCount} validation and ${evaluation.rowCount} evaluation rows`);
  }

  const session = `paper-${startedAt.getTime()}`;
  const runOptions = { model, data: uploaded, session, pollMs: POLL_MS, log };
  log('tuning: every method at every learning rate of the grid, scored on the validation rows');
  const tuningResults = await runAll(client, planTuningRuns(profile), runOptions);
  const { tunings, chosen } = chooseSettings(tuningResults);
  for (const { task, method, chosen: point } of tunings) {
    log(`${task}/${method}: ${point ? `learning rate ${point.learningRate}${point.activation ? `, σ ${point.activation}` : ''} (validation accuracy ${point.accuracy!.toFixed(1)} %)` : 'every tuning run failed: left out'}`);
  }
  log('final runs: the comparison on every seed and the ablation, with the chosen settings, scored on the evaluation rows');
  const finalResults = await runAll(client, planFinalRuns(profile, chosen), runOptions);
  const summaries = summarize(finalResults);
  const results = [...tuningResults, ...finalResults];

  const figuresDir = join(options.outDir, FIGURES);
  await mkdir(figuresDir, { recursive: true });
  for (const name of await readdir(figuresDir)) if (isOwnFigure(name)) await rm(join(figuresDir, name));
  const write = async (name: string, svg: string) => {
    await writeFile(join(figuresDir, name), svg);
    return [`${FIGURES}/${name}`];
  };
  const figure = async (name: string, chart: Chart): Promise<string[]> => (chart.series.some((series) => series.points.length) ? write(name, renderChart(chart)) : []);
  const heatMap = async (name: string, map: HeatMap): Promise<string[]> => (map.values.flat().some((v) => typeof v === 'number') ? write(name, renderHeatMap(map)) : []);

  const titleOf = (task: EvalTaskId) => presets.find((p) => p.id === task)!.title;
  const majorityPercent = (task: EvalTaskId) => prepared.get(task)!.evaluation.majorityShare * 100;
  const datasets: DatasetSection[] = [];
  for (const plan of profile.datasets) {
    const comparison = summaries.filter((s) => s.task === plan.task && s.n === COMPARISON.n && (s.method === 'pt' || profile.ranks.includes(s.r!)));
    const title = titleOf(plan.task);
    const data = prepared.get(plan.task)!;
    const pt = comparison.find((s) => s.method === 'pt');
    const taskTunings = tunings.filter((t) => t.task === plan.task);
    datasets.push({
      title,
      plan,
      trainOrigin: data.train.origin,
      validationOrigin: data.validation.origin,
      evalOrigin: data.evaluation.origin,
      majorityPercent: majorityPercent(plan.task),
      tunings: taskTunings,
      comparison,
      verdict: datasetVerdict(pt, comparison.filter((s) => s !== pt), majorityPercent(plan.task)),
      figures: [
        ...(await figure(`tuning-${plan.task}.svg`, tuningChart(title, taskTunings))),
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
    const maps = ablationHeatMaps(title, grid, spec.ns, spec.rs);
    const figures = [
      ...(await heatMap(`ablation-accuracy-${spec.task}.svg`, maps.accuracy)),
      ...(await heatMap(`ablation-per-parameter-${spec.task}.svg`, maps.perParameter)),
      ...(await figure(`ablation-${spec.task}.svg`, ablationChart(title, grid, majorityPercent(spec.task)))),
    ];
    ablation = { title, spec, grid, majorityPercent: majorityPercent(spec.task), figures };
  }

  const report = renderReport({
    command: options.command,
    date: startedAt,
    totalSeconds: (Date.now() - startedAt.getTime()) / 1000,
    profile,
    machine,
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
