/**
 * How a TensorFlow.js (batched, possibly fused) matMul maps onto the addon's indexed gemm: which
 * matrix of each operand every output matrix multiplies, batch dimensions broadcast as in
 * TF.js. Null where it does not map (an empty operand, a bias that is not one value per output
 * column, shapes that do not broadcast): those stay with the backend's own kernel.
 */
export interface GemmPlan {
  readonly outShape: number[];
  /** The matrix of a and of b that each output matrix multiplies. */
  readonly aIndex: Int32Array;
  readonly bIndex: Int32Array;
  readonly aCount: number;
  readonly bCount: number;
  readonly m: number;
  readonly n: number;
  readonly k: number;
}

const product = (dims: readonly number[]) => dims.reduce((p, d) => p * d, 1);

function broadcastOuter(a: readonly number[], b: readonly number[]): number[] | null {
  const out: number[] = [];
  for (let i = 0; i < a.length; i++) {
    if (a[i] === b[i] || b[i] === 1) out.push(a[i]!);
    else if (a[i] === 1) out.push(b[i]!);
    else return null;
  }
  return out;
}

/** For every output matrix (row-major over `outer`), the index of the operand's matrix it reads. */
function sourceIndex(operand: readonly number[], outer: readonly number[]): Int32Array {
  const index = new Int32Array(product(outer));
  for (let i = 0; i < index.length; i++) {
    let rest = i;
    let source = 0;
    let stride = 1;
    for (let dim = outer.length - 1; dim >= 0; dim--) {
      const coordinate = rest % outer[dim]!;
      rest = Math.floor(rest / outer[dim]!);
      if (operand[dim] !== 1) source += coordinate * stride;
      stride *= operand[dim]!;
    }
    index[i] = source;
  }
  return index;
}

export function planGemm(
  aShape: readonly number[],
  bShape: readonly number[],
  transposeA: boolean,
  transposeB: boolean,
  biasShape: readonly number[] | null = null,
): GemmPlan | null {
  if (aShape.length < 2 || bShape.length < 2) return null;
  const [a0, a1] = aShape.slice(-2) as [number, number];
  const [b0, b1] = bShape.slice(-2) as [number, number];
  const [m, k] = transposeA ? [a1, a0] : [a0, a1];
  const [kB, n] = transposeB ? [b1, b0] : [b0, b1];
  if (k !== kB || m === 0 || n === 0 || k === 0) return null;
  if (biasShape && (biasShape[biasShape.length - 1] !== n || product(biasShape) !== n)) return null;
  const rank = Math.max(aShape.length, bShape.length) - 2;
  const padded = (shape: readonly number[]) => [...new Array<number>(rank - (shape.length - 2)).fill(1), ...shape.slice(0, -2)];
  const [outerA, outerB] = [padded(aShape), padded(bShape)];
  const outer = broadcastOuter(outerA, outerB);
  if (!outer) return null;
  return {
    outShape: [...outer, m, n],
    aIndex: sourceIndex(outerA, outer),
    bIndex: sourceIndex(outerB, outer),
    aCount: product(outerA),
    bCount: product(outerB),
    m, n, k,
  };
}
