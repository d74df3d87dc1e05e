/**
 * The paper's claim, checked on one dataset as data: each LoPT variant's accuracy against full
 * prompt tuning's (same n, budget and seeds), and whether the model learnt the task at all.
 */
import { configName, type ConfigSummary } from './summarize.js';

/** LoPT "matches" PT when it is at most this many points below it, or within the seeds' spread if that is wider. */
export const MATCH_TOLERANCE_POINTS = 1;
/** A task counts as learnt when some method beats always answering the majority label by this many points. */
export const LEARNT_MARGIN_POINTS = 2;

export type ClaimOutcome = 'held' | 'did not hold' | 'untestable';

export interface DatasetVerdict {
  /** Per LoPT configuration (its configName). */
  readonly outcomes: ReadonlyArray<{ readonly config: string; readonly outcome: ClaimOutcome }>;
  /** Sentences of numbers, for the report. */
  readonly text: string;
}

const points = (value: number) => `${value >= 0 ? '+' : '−'}${Math.abs(value).toFixed(1)}`;

function tolerance(a: ConfigSummary, b: ConfigSummary): number {
  return Math.max(MATCH_TOLERANCE_POINTS, Math.hypot(a.accuracy?.std ?? 0, b.accuracy?.std ?? 0));
}

/** `pt` and the LoPT summaries of the comparison on one dataset; accuracies in percent. */
export function datasetVerdict(pt: ConfigSummary | undefined, lopts: readonly ConfigSummary[], majorityPercent: number): DatasetVerdict {
  const untestable = (text: string): DatasetVerdict => ({ outcomes: lopts.map((lopt) => ({ config: configName(lopt), outcome: 'untestable' })), text });
  if (!pt?.accuracy || lopts.some((lopt) => !lopt.accuracy)) return untestable('Some runs failed, so there is nothing to compare.');
  const best = Math.max(pt.accuracy.mean, ...lopts.map((lopt) => lopt.accuracy!.mean));
  const learnt = best - majorityPercent >= LEARNT_MARGIN_POINTS;
  const sentences = [`PT ${pt.accuracy.mean.toFixed(1)} % (${pt.trainableParameters?.toLocaleString('en-US')} parameters); majority class ${majorityPercent.toFixed(1)} %.`];
  const outcomes: Array<{ config: string; outcome: ClaimOutcome }> = [];
  for (const lopt of lopts) {
    const delta = lopt.accuracy!.mean - pt.accuracy.mean;
    const within = tolerance(pt, lopt);
    const fewer = pt.trainableParameters && lopt.trainableParameters ? `${(pt.trainableParameters / lopt.trainableParameters).toFixed(1)}× fewer parameters` : 'parameters unknown';
    const judgement = delta >= -within ? (delta > within ? 'above PT by more than' : 'matches PT within') : 'below PT by more than';
    outcomes.push({ config: configName(lopt), outcome: delta < -within ? 'did not hold' : 'held' });
    sentences.push(`${configName(lopt)} (${fewer}) ${lopt.accuracy!.mean.toFixed(1)} %, ${points(delta)} points: ${judgement} ±${within.toFixed(1)}.`);
  }
  if (!learnt) {
    sentences.push(`No method is ${LEARNT_MARGIN_POINTS} points above the majority class: the model does not learn this task at this budget, so it cannot test the claim.`);
    return untestable(sentences.join(' '));
  }
  return { outcomes, text: sentences.join(' ') };
}
