import { SingleBar } from 'cli-progress';
import type { EvaluationMetrics } from '../engine/tasks/objective.js';
import type { TrainingProgress } from '../engine/training/trainer.js';

const formatMetrics = (m: EvaluationMetrics) =>
  Object.entries(m)
    .map(([key, value]) => `${key} ${value.toFixed(4)}`)
    .join(', ');

/** A progress bar with loss and ETA on a terminal; a line every 10 steps elsewhere (logs, CI). */
export function progressReporter(stream: NodeJS.WriteStream = process.stderr) {
  const bar = stream.isTTY
    ? new SingleBar({ stream, format: 'step {value}/{total} {bar} {percentage}% | loss {loss} | lr {lr} | {tps} tok/s | ETA {eta_formatted}' })
    : undefined;
  return {
    onStepEnd(p: TrainingProgress) {
      const payload = { loss: p.loss.toFixed(4), lr: p.learningRate.toExponential(2), tps: p.tokensPerSecond.toFixed(0) };
      if (bar) {
        if (p.step === 1 || !bar.getTotal()) bar.start(p.totalSteps, p.step, payload);
        bar.update(p.step, payload);
      } else if (p.step % 10 === 0 || p.step === p.totalSteps) {
        stream.write(`step ${p.step}/${p.totalSteps} loss ${payload.loss} lr ${payload.lr} ${payload.tps} tok/s ETA ${p.etaSeconds.toFixed(0)} s\n`);
      }
    },
    onEvaluation({ step, metrics, isBest }: { step: number; metrics: EvaluationMetrics; isBest: boolean }) {
      const line = `eval at step ${step}: ${formatMetrics(metrics)}${isBest ? ' (best)' : ''}`;
      if (bar) bar.updateETA();
      stream.write(`${bar ? '\n' : ''}${line}\n`);
    },
    stop() {
      bar?.stop();
    },
  };
}

export { formatMetrics };
