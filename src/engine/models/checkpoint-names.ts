/**
 * Matches a checkpoint's tensors against the names and shapes a model's config implies: every
 * expected tensor must be present with its exact shape, and nothing else may be, except what the
 * family knows to ignore. Problems are refused together, with their names.
 */
import { EngineError } from '../engine-error.js';
import type { HostTensor } from '../safetensors.js';
import type { WeightSource } from './model-weights-file.js';

/** How many names of each kind of problem an error message lists. */
const LISTED = 8;

function listed(names: readonly string[]): string {
  const more = names.length > LISTED ? ` and ${names.length - LISTED} more` : '';
  return names.slice(0, LISTED).join(', ') + more;
}

export interface NameRules {
  /** A file's name as the expected names spell it (e.g. without an optional prefix). */
  readonly bare: (fileName: string) => string;
  /** Bare names a checkpoint may store that are not weights of this model (buffers, tied copies). */
  readonly ignored: readonly RegExp[];
}

/** Checks the file's tensors against `expected` (bare name → shape); returns the file name of each expected tensor. */
export function matchTensorNames(file: WeightSource, expected: ReadonlyMap<string, readonly number[]>, rules: NameRules): Map<string, string> {
  const fileNames = new Map<string, string>(); // bare name → name in the file
  const unexpected: string[] = [];
  for (const fileName of file.tensors.keys()) {
    const bare = rules.bare(fileName);
    if (expected.has(bare)) fileNames.set(bare, fileName);
    else if (!rules.ignored.some((pattern) => pattern.test(bare))) unexpected.push(fileName);
  }
  const missing = [...expected.keys()].filter((name) => !fileNames.has(name));
  const misshaped = [...fileNames].flatMap(([bare, fileName]) => {
    const actual = file.tensors.get(fileName)!.shape;
    const want = expected.get(bare)!;
    return actual.join() === want.join() ? [] : [`${fileName} is [${actual.join(', ')}], expected [${want.join(', ')}]`];
  });
  const problems = [
    missing.length ? `missing tensors: ${listed(missing)}` : '',
    unexpected.length ? `unexpected tensors: ${listed(unexpected)}` : '',
    misshaped.length ? `wrong shapes: ${listed(misshaped)}` : '',
  ].filter(Boolean);
  if (problems.length) throw new EngineError('MODEL_WEIGHTS_MISMATCH', `${file.path}: ${problems.join('; ')}`);
  return fileNames;
}

/** Floats of the tensors of `shapes` whose names pass `isMatrix`, and of all of them: a family's WeightBytes, ×4. */
export function countFloats(shapes: ReadonlyMap<string, readonly number[]>, isMatrix: (name: string) => boolean): { total: number; matrices: number } {
  let total = 0;
  let matrices = 0;
  for (const [name, shape] of shapes) {
    const count = shape.reduce((p, n) => p * n, 1);
    total += count;
    if (isMatrix(name)) matrices += count;
  }
  return { total, matrices };
}

/**
 * [out, in] matrices (or biases) stacked along out, their outputs side by side: the q, k and v
 * projections of a layer as one matMul. Copies one layer's worth while loading.
 */
export function stackRows(parts: readonly HostTensor[]): HostTensor {
  if (parts.length === 1) return parts[0]!;
  const data = new Float32Array(parts.reduce((sum, { data }) => sum + data.length, 0));
  let offset = 0;
  for (const part of parts) {
    data.set(part.data, offset);
    offset += part.data.length;
  }
  const rows = parts.reduce((sum, { shape }) => sum + shape[0]!, 0);
  return { data, shape: [rows, ...parts[0]!.shape.slice(1)] };
}

