/**
 * Runs bench/pytorch/prompt_step.py, the PyTorch form of the engine's training step, on the same
 * model, batch and initial prompt, with the Python that has torch (Debian: python3-torch).
 */
import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { SoftPrompt } from '../src/engine/prompts/soft-prompt.js';

export interface BaselineBatch {
  readonly model: string;
  readonly inputs: ReadonlyArray<readonly number[]>;
  readonly labels: readonly number[];
  /** Each label's word's single token: what a decoder-only model scores at the input's last position. */
  readonly labelTokens: readonly number[];
  /** Each label's scored tokens in full (its word's and the model's word end): what an encoder-decoder scores as its decoder output. */
  readonly labelSequences: ReadonlyArray<readonly number[]>;
  readonly learningRate: number;
  readonly clip: number;
  readonly steps: number;
  readonly threads: readonly number[];
  /** The forms of the step to time. @defaultValue both */
  readonly forms?: readonly BaselineForm[];
}

export const BASELINE_FORMS = ['per-row', 'shared-prefix'] as const;
export type BaselineForm = (typeof BASELINE_FORMS)[number];

export interface BaselineResult {
  readonly form: BaselineForm;
  readonly threads: number;
  readonly medianStepMs: number;
  readonly firstLoss: number;
}

export interface BaselineRun {
  readonly torch: string;
  readonly blas: string;
  readonly results: BaselineResult[];
}

const SCRIPT = join(import.meta.dirname, 'pytorch', 'prompt_step.py');

/** The first of `candidates` that imports torch, or null. */
export function findTorchPython(candidates: readonly string[]): string | null {
  for (const python of candidates) {
    try {
      execFileSync(python, ['-c', 'import torch'], { stdio: 'ignore' });
      return python;
    } catch {
      // not this one
    }
  }
  return null;
}

async function promptPayload(prompt: SoftPrompt) {
  const values = Object.fromEntries([...(await prompt.parameterValues())].map(([name, { shape, data }]) => [name, { shape, data: Array.from(data) }]));
  const { X0, ...params } = values;
  const spec = prompt.spec;
  return { method: spec.method, n: spec.n, ...(spec.method === 'lopt2' ? { activation: spec.activation, X0 } : {}), params };
}

export async function runPytorchBaseline(python: string, batch: BaselineBatch, prompt: SoftPrompt): Promise<BaselineRun> {
  const file = join(tmpdir(), `lopt-baseline-${process.pid}.json`);
  writeFileSync(file, JSON.stringify({ ...batch, prompt: await promptPayload(prompt) }));
  try {
    return JSON.parse(execFileSync(python, [SCRIPT, file], { encoding: 'utf8', maxBuffer: 1 << 24 })) as BaselineRun;
  } finally {
    rmSync(file, { force: true });
  }
}
