/**
 * A worker process's Prometheus metrics: step time, throughput and loss of the job it trains
 * (by job and model; a job's series go when it ends), jobs it ran by kind and outcome, model load
 * time, and Node's process metrics labelled `process="worker"`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export function createWorkerMetrics() {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, labels: { process: 'worker' } });
  const registers = [registry];
  const stepTime = new Histogram({
    name: 'lopt_training_step_seconds', help: 'Time of a training step (forward, backward, optimizer).', labelNames: ['model'], registers,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
  });
  const tokensPerSecond = new Gauge({ name: 'lopt_training_tokens_per_second', help: "Token positions per second of the running job's latest step.", labelNames: ['job_id', 'model'], registers });
  const loss = new Gauge({ name: 'lopt_training_loss', help: "Training loss of the running job's latest step.", labelNames: ['job_id', 'model'], registers });
  const step = new Gauge({ name: 'lopt_training_step', help: 'The step the running job is at.', labelNames: ['job_id', 'model'], registers });
  const runs = new Counter({ name: 'lopt_worker_job_runs_total', help: 'Job runs this worker ended, by kind and how they ended.', labelNames: ['kind', 'outcome'], registers });
  const modelLoad = new Gauge({ name: 'lopt_model_load_seconds', help: 'How long loading each model took in this process.', labelNames: ['model'], registers });

  return {
    contentType: registry.contentType,
    scrape: () => registry.metrics(),
    observeStep(jobId: string, model: string, progress: { step: number; loss: number; tokensPerSecond: number }, seconds: number): void {
      stepTime.observe({ model }, seconds);
      const labels = { job_id: jobId, model };
      tokensPerSecond.set(labels, progress.tokensPerSecond);
      loss.set(labels, progress.loss);
      step.set(labels, progress.step);
    },
    /** A run ended (`outcome`: succeeded, failed, cancelled, handed back, …): its job's series go. */
    endRun(jobId: string, model: string, kind: string, outcome: string): void {
      runs.inc({ kind, outcome });
      for (const gauge of [tokensPerSecond, loss, step]) gauge.remove({ job_id: jobId, model });
    },
    observeModelLoad(model: string, seconds: number): void {
      modelLoad.set({ model }, seconds);
    },
  };
}

export type WorkerMetrics = ReturnType<typeof createWorkerMetrics>;
