/**
 * How a soft prompt X ∈ ℝ^{n×d} is parameterised (Guo, Damani, Chang 2024, "LoPT"):
 *   pt     X trainable                       n·d parameters
 *   lopt1  X = U·V,        U n×r, V r×d      r(n+d) parameters
 *   lopt2  X = σ(X0·U)·V,  X0 n×d fixed,
 *                          U d×r, V r×d      2rd parameters
 */
import { EngineError } from '../engine-error.js';

export const PROMPT_METHODS = ['pt', 'lopt1', 'lopt2'] as const;
export type PromptMethod = (typeof PROMPT_METHODS)[number];
export const ACTIVATIONS = ['tanh', 'relu', 'sigmoid', 'gelu'] as const;
export type Activation = (typeof ACTIVATIONS)[number];
export const PROMPT_INITS = ['vocab', 'random', 'text'] as const;
export type PromptInit = (typeof PROMPT_INITS)[number];

export interface PromptSpec {
  readonly method: PromptMethod;
  /** Virtual tokens n. */
  readonly n: number;
  /** Rank r (lopt1, lopt2 only). */
  readonly r?: number;
  /** σ of lopt2. @defaultValue `tanh` */
  readonly activation?: Activation;
  /** Where the initial rows come from. @defaultValue `vocab` */
  readonly init?: PromptInit;
  /** The text whose embeddings start the prompt, for `init: 'text'`. */
  readonly initText?: string;
  /** @defaultValue `0` */
  readonly seed?: number;
}

/** A spec with its defaults filled in, checked against the model width d. */
export interface ResolvedPromptSpec {
  readonly method: PromptMethod;
  readonly n: number;
  /** 0 for pt. */
  readonly r: number;
  readonly activation: Activation;
  readonly init: PromptInit;
  readonly initText: string | undefined;
  readonly seed: number;
}

const isIn = <T extends string>(values: readonly T[], value: unknown): value is T => values.includes(value as T);

export function resolvePromptSpec(spec: PromptSpec, d: number): ResolvedPromptSpec {
  const fail = (message: string) => new EngineError('BAD_ARGUMENT', message);
  if (!isIn(PROMPT_METHODS, spec.method)) throw fail(`method must be one of ${PROMPT_METHODS.join(', ')}, got ${JSON.stringify(spec.method)}`);
  if (!Number.isInteger(spec.n) || spec.n < 1) throw fail(`n must be an integer ≥ 1, got ${spec.n}`);
  const activation = spec.activation ?? 'tanh';
  if (!isIn(ACTIVATIONS, activation)) throw fail(`activation must be one of ${ACTIVATIONS.join(', ')}, got ${JSON.stringify(activation)}`);
  const init = spec.init ?? 'vocab';
  if (!isIn(PROMPT_INITS, init)) throw fail(`init must be one of ${PROMPT_INITS.join(', ')}, got ${JSON.stringify(init)}`);
  if (init === 'text' && !spec.initText?.trim()) throw fail('init "text" needs a non-empty initText');
  const seed = spec.seed ?? 0;
  if (!Number.isInteger(seed)) throw fail(`seed must be an integer, got ${seed}`);

  let r = 0;
  if (spec.method === 'pt') {
    if (spec.r !== undefined) throw fail('r applies to lopt1 and lopt2 only');
  } else {
    const maxRank = spec.method === 'lopt1' ? Math.min(spec.n, d) : d;
    const bound = spec.method === 'lopt1' ? `min(n, d) = ${maxRank}` : `d = ${d}`;
    if (spec.r === undefined || !Number.isInteger(spec.r) || spec.r < 1 || spec.r > maxRank) {
      throw fail(`${spec.method} needs an integer rank 1 ≤ r ≤ ${bound}, got ${spec.r}`);
    }
    r = spec.r;
  }
  return { method: spec.method, n: spec.n, r, activation, init, initText: spec.initText, seed };
}

/** Exactly the number of trainable values: nd, r(n+d) or 2rd. */
export function trainableParameterCount({ method, n, r }: Pick<ResolvedPromptSpec, 'method' | 'n' | 'r'>, d: number): number {
  switch (method) {
    case 'pt':
      return n * d;
    case 'lopt1':
      return r * (n + d);
    case 'lopt2':
      return 2 * r * d;
  }
}

/** Parameter name → expected shape, for a method at width d. */
function parameterShapes({ method, n, r }: Pick<ResolvedPromptSpec, 'method' | 'n' | 'r'>, d: number): Record<string, [number, number]> {
  switch (method) {
    case 'pt':
      return { X: [n, d] };
    case 'lopt1':
      return { U: [n, r], V: [r, d] };
    case 'lopt2':
      return { U: [d, r], V: [r, d] };
  }
}

/** What a stored prompt of `spec` at width d holds, name → shape: its parameters, X0 for lopt2, and (`materialised`) X [n, d]. */
export function storedTensorShapes(spec: Pick<ResolvedPromptSpec, 'method' | 'n' | 'r'>, d: number, { materialised }: { materialised: boolean }): Record<string, [number, number]> {
  return {
    ...parameterShapes(spec, d),
    ...(spec.method === 'lopt2' ? { X0: [spec.n, d] } : {}),
    ...(materialised ? { X: [spec.n, d] } : {}),
  };
}

/** Throws PROMPT_FILE_INVALID unless `tensors` hold storedTensorShapes(spec, d, …), shaped so and finite. */
export function checkStoredTensors(
  spec: ResolvedPromptSpec, d: number, tensors: ReadonlyMap<string, { readonly shape: readonly number[]; readonly data: Float32Array }>, options: { materialised: boolean },
): void {
  for (const [name, shape] of Object.entries(storedTensorShapes(spec, d, options))) {
    const tensor = tensors.get(name);
    if (!tensor || tensor.shape.join() !== shape.join()) {
      throw new EngineError('PROMPT_FILE_INVALID', `${spec.method} prompt needs ${name} of shape [${shape.join(', ')}], got ${tensor ? `[${tensor.shape.join(', ')}]` : 'none'}`);
    }
    if (!tensor.data.every(Number.isFinite)) throw new EngineError('PROMPT_FILE_INVALID', `${spec.method} prompt's ${name} holds values that are not finite`);
  }
}
