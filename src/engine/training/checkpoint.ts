import type { HostTensor } from '../safetensors.js';
import type { EvaluationMetrics } from '../tasks/objective.js';
import type { AdamWState } from './adamw.js';

/** Everything a run needs to continue exactly where it was: host copies only. */
export interface TrainingCheckpoint {
  /** Steps done. */
  readonly step: number;
  /** The epoch and the index of its next batch. */
  readonly epoch: number;
  readonly batchInEpoch: number;
  readonly params: Record<string, HostTensor>;
  readonly optimizer: AdamWState;
  readonly best: { readonly step: number; readonly metrics: EvaluationMetrics; readonly params: Record<string, HostTensor> } | null;
  readonly evaluationsWithoutImprovement: number;
  /** The run was cancelled during the evaluation after `step`: the resumed run does it first. Absent: none owed. */
  readonly evaluationPending?: boolean;
}
