/**
 * What `npm run eval:paper` runs: per dataset, how much data and how many training steps; the
 * methods compared (the paper's n = 20, r = 4); the seeds; and the LoPT-1 n × r ablation.
 * Budgets are in steps, so a faster trainer makes the same profile finish sooner.
 */
export type Method = 'pt' | 'lopt1' | 'lopt2';
export const METHOD_NAMES: Readonly<Record<Method, string>> = { pt: 'PT', lopt1: 'LoPT-1', lopt2: 'LoPT-2' };
export type EvalTaskId = 'sst2' | 'ag_news' | 'rte';

export interface Budget {
  readonly steps: number;
  readonly batchSize: number;
  readonly learningRate: number;
}

export interface DatasetPlan {
  readonly task: EvalTaskId;
  /** Training rows uploaded (a fixed sample of the training file). */
  readonly trainRows: number;
  /** Evaluation rows (a fixed sample of the evaluation split); every run is scored on the same ones. */
  readonly evalRows: number;
  readonly budget: Budget;
}

export interface Ablation {
  readonly task: EvalTaskId;
  readonly method: Method;
  readonly ns: readonly number[];
  readonly rs: readonly number[];
}

export interface Profile {
  readonly name: string;
  /** What it is for and how long it takes. */
  readonly summary: string;
  readonly seeds: readonly number[];
  readonly methods: readonly Method[];
  /** Run and reported in this order: the slowest first, so that the workers finish together. */
  readonly datasets: readonly DatasetPlan[];
  readonly ablation?: Ablation;
}

/** The paper's setting for the method comparison. */
export const COMPARISON = { n: 20, r: 4 } as const;
const METHODS: readonly Method[] = ['pt', 'lopt1', 'lopt2'];
const PAPER_GRID = { ns: [5, 10, 20, 40], rs: [1, 2, 4, 8] };

export const PROFILES: Readonly<Record<string, Profile>> = {
  quick: {
    name: 'quick',
    summary: 'one seed, short budgets, no ablation: 9 runs, 7 minutes on 2 cores with the OpenBLAS kernels, about 20–25 on wasm alone',
    seeds: [0],
    methods: METHODS,
    datasets: [
      { task: 'ag_news', trainRows: 4000, evalRows: 400, budget: { steps: 250, batchSize: 16, learningRate: 0.03 } },
      { task: 'rte', trainRows: 2241, evalRows: 249, budget: { steps: 100, batchSize: 16, learningRate: 0.03 } },
      { task: 'sst2', trainRows: 2400, evalRows: 400, budget: { steps: 150, batchSize: 16, learningRate: 0.03 } },
    ],
  },
  full: {
    name: 'full',
    summary: '3 seeds, longer budgets, the n × r ablation of LoPT-1 on SST-2: 27 + 42 runs, about 1–1.5 hours on 2 cores with the OpenBLAS kernels (estimated from quick), about 4 on wasm alone',
    seeds: [0, 1, 2],
    methods: METHODS,
    datasets: [
      { task: 'ag_news', trainRows: 6400, evalRows: 998, budget: { steps: 400, batchSize: 16, learningRate: 0.03 } },
      { task: 'rte', trainRows: 2241, evalRows: 249, budget: { steps: 300, batchSize: 16, learningRate: 0.03 } },
      { task: 'sst2', trainRows: 6400, evalRows: 872, budget: { steps: 400, batchSize: 16, learningRate: 0.03 } },
    ],
    ablation: { task: 'sst2', method: 'lopt1', ...PAPER_GRID },
  },
  smoke: {
    name: 'smoke',
    summary: 'a few steps on a few rows, to check the pipeline end to end (about a minute); its numbers mean nothing',
    seeds: [0],
    methods: METHODS,
    datasets: [
      { task: 'sst2', trainRows: 16, evalRows: 8, budget: { steps: 2, batchSize: 4, learningRate: 0.03 } },
      { task: 'ag_news', trainRows: 16, evalRows: 8, budget: { steps: 2, batchSize: 4, learningRate: 0.03 } },
      { task: 'rte', trainRows: 16, evalRows: 8, budget: { steps: 2, batchSize: 4, learningRate: 0.03 } },
    ],
    ablation: { task: 'sst2', method: 'lopt1', ns: [2, 4], rs: [1, 2] },
  },
};
