/**
 * The API process's Prometheus metrics: its HTTP requests (by method, route pattern and status,
 * with latency), the queue's jobs by state and the store's jobs by kind and status (both read
 * once at each scrape, before the gauges are collected), inference calls (inputs per call, latency), and Node's process metrics
 * (CPU, resident memory, heap, event-loop lag) labelled `process="api"`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/** BullMQ's job states an operator watches (what getJobCounts names them). */
const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed', 'completed'] as const;

export interface ApiMetricsSources {
  /** The queue's job counts by state; throws while Redis cannot be reached. */
  queueCounts(states: readonly string[]): Promise<Record<string, number>>;
  /** The store's jobs by kind and status; throws while PostgreSQL cannot be reached. */
  jobCounts(): Promise<Array<{ kind: string; status: string; count: number }>>;
}

export function createApiMetrics(sources: ApiMetricsSources) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, labels: { process: 'api' } });
  const registers = [registry];
  const requests = new Counter({ name: 'lopt_http_requests_total', help: 'HTTP requests answered, by method, route pattern and status.', labelNames: ['method', 'route', 'status'], registers });
  const latency = new Histogram({
    name: 'lopt_http_request_duration_seconds', help: 'Time to answer an HTTP request.', labelNames: ['method', 'route', 'status'], registers,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
  });
  /** What the last scrape read of the queue and the store: the gauges below show it. */
  let snapshot: { queue: Record<string, number> | null; jobs: Awaited<ReturnType<ApiMetricsSources['jobCounts']>> | null } = { queue: null, jobs: null };
  new Gauge({
    name: 'lopt_store_reachable', help: 'Whether this scrape could read the queue (Redis) and the store (PostgreSQL): 1 or 0.', labelNames: ['store'], registers,
    collect() {
      const { queue, jobs } = snapshot;
      this.set({ store: 'redis' }, queue ? 1 : 0);
      this.set({ store: 'postgresql' }, jobs ? 1 : 0);
    },
  });
  new Gauge({
    name: 'lopt_queue_jobs', help: "The train queue's jobs by state (BullMQ); absent while Redis cannot be read.", labelNames: ['state'], registers,
    collect() {
      const { queue } = snapshot;
      this.reset();
      if (queue) for (const state of QUEUE_STATES) this.set({ state }, queue[state] ?? 0);
    },
  });
  new Gauge({
    name: 'lopt_jobs', help: 'Jobs in the store by kind (train, evaluate) and status (final states included); absent while PostgreSQL cannot be read.', labelNames: ['kind', 'status'], registers,
    collect() {
      const { jobs } = snapshot;
      this.reset();
      for (const { kind, status, count } of jobs ?? []) this.set({ kind, status }, count);
    },
  });
  const inferenceInputs = new Histogram({ name: 'lopt_inference_inputs', help: 'Inputs per predict or generate call.', labelNames: ['call'], registers, buckets: [1, 2, 4, 8, 16, 32, 64] });
  const batchInputs = new Histogram({
    name: 'lopt_inference_batch_inputs', help: 'Inputs in one forward batch of the inference thread (requests of several calls and prompts share one).', registers,
    buckets: [1, 2, 4, 8, 16, 24, 32, 48, 64, 128, 256],
  });
  const inferenceLatency = new Histogram({
    name: 'lopt_inference_duration_seconds', help: 'Time of a predict or generate call in the inference thread, by outcome.', labelNames: ['call', 'outcome'], registers,
    buckets: [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
  });

  return {
    contentType: registry.contentType,
    /** The metrics as Prometheus text, the queue and the store read afresh (once, for every gauge). */
    async scrape(): Promise<string> {
      const [queue, jobs] = await Promise.all([sources.queueCounts(QUEUE_STATES).catch(() => null), sources.jobCounts().catch(() => null)]);
      snapshot = { queue, jobs };
      return registry.metrics();
    },
    observeRequest(method: string, route: string, status: number, seconds: number): void {
      const labels = { method, route, status: String(status) };
      requests.inc(labels);
      latency.observe(labels, seconds);
    },
    /** A batch the inference thread ran: how many inputs it held. */
    observeBatch(inputs: number): void {
      batchInputs.observe(inputs);
    },
    /** Times `call`'s promise (of `inputs` inputs) into the inference metrics. */
    async observeInference<T>(call: 'classify' | 'generate', inputs: number, run: () => Promise<T>): Promise<T> {
      const started = performance.now();
      inferenceInputs.observe({ call }, inputs);
      try {
        const result = await run();
        inferenceLatency.observe({ call, outcome: 'ok' }, (performance.now() - started) / 1000);
        return result;
      } catch (err) {
        inferenceLatency.observe({ call, outcome: 'error' }, (performance.now() - started) / 1000);
        throw err;
      }
    },
  };
}

export type ApiMetrics = ReturnType<typeof createApiMetrics>;
