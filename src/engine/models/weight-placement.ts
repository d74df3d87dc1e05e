/**
 * Where a frozen model's weights live, chosen once per load. `host`: in host memory as read from
 * the checkpoint, multiplied in place by the OpenBLAS addon (native-ops.ts), so the wasm heap
 * holds only activations and no weight is ever copied or transposed. `backend`: as tensors of the
 * active TF.js backend, with Wᵀ copies where its transposed matMul is slow. Models build their
 * layers through a placement and never ask which one it is.
 */
import { activeBackend } from '../backend.js';
import { EngineError } from '../engine-error.js';
import { backendPool, type MemoryNeed } from '../memory-budget.js';
import { hostLinear } from '../native/native-ops.js';
import type { HostTensor } from '../safetensors.js';
import { tf } from '../tf.js';
import { BackendLinear, type FrozenLinear, type MatrixLayout } from './frozen-linear.js';

/** A frozen [V, d] token-embedding table. */
export interface FrozenEmbedding {
  /** Rows [...ids.shape, d] of int32 `ids`. */
  lookup(ids: tf.Tensor): tf.Tensor;
  /** The tied output head: h (N, d) → logits (N, V) = h·tableᵀ, reading the same weights. */
  tiedHead(): FrozenLinear;
}

/** The bytes of a model's weights a placement needs to know, as float32. */
export interface WeightBytes {
  /** Every frozen weight. */
  readonly total: number;
  /** Of which the matrices multiplied in linear layers, the tied head's table included once: what Wᵀ copies double. */
  readonly matrices: number;
}

export interface WeightPlacement {
  /** For logs and errors: `host memory`, `backend tensors`. */
  readonly label: string;
  /** What the weights take, by pool, on this placement. */
  need(bytes: WeightBytes): MemoryNeed;
  linear(weight: HostTensor, bias: HostTensor | null, layout: MatrixLayout): FrozenLinear;
  embedding(table: HostTensor): FrozenEmbedding;
  /** A small weight read as it is (a norm's scale, position embeddings): a backend tensor. */
  tensor<T extends tf.Tensor>(host: HostTensor): T;
  /** Frees every tensor the placement made. */
  dispose(): void;
}

const matrixSizes = ({ shape }: HostTensor, layout: MatrixLayout) => {
  const [rows, cols] = shape as [number, number];
  return layout === 'in-out' ? { inSize: rows, outSize: cols } : { inSize: cols, outSize: rows };
};

/** Tensors made by a placement, freed together. */
function tensorOwner() {
  const owned: tf.Tensor[] = [];
  return {
    keep<T extends tf.Tensor>(t: T): T {
      owned.push(t);
      return t;
    },
    tensor<T extends tf.Tensor>({ data, shape }: HostTensor): T {
      return this.keep(tf.tensor(data, [...shape], 'float32') as T);
    },
    dispose: () => tf.dispose(owned.splice(0)),
  };
}

function hostPlacement(): WeightPlacement {
  const owner = tensorOwner();
  return {
    label: 'host memory, multiplied in place by the OpenBLAS kernels',
    need: ({ total }) => ({ host: total, wasmHeap: 0 }),
    linear: (weight, bias, layout) => ({
      apply: hostLinear({ data: weight.data, ...matrixSizes(weight, layout), transposed: layout === 'out-in' }, bias?.data ?? null),
    }),
    embedding: (table) => {
      const [vocab, width] = table.shape as [number, number];
      return {
        lookup(ids) {
          const values = ids.dataSync();
          const rows = new Float32Array(values.length * width);
          values.forEach((id, i) => {
            if (!Number.isInteger(id) || id < 0 || id >= vocab) throw new EngineError('BAD_ARGUMENT', `token id ${id} is outside the vocabulary of ${vocab}`);
            rows.set(table.data.subarray(id * width, (id + 1) * width), i * width);
          });
          return tf.tensor(rows, [...ids.shape, width], 'float32');
        },
        tiedHead: () => ({ apply: hostLinear({ data: table.data, inSize: width, outSize: vocab, transposed: true }, null) }),
      };
    },
    tensor: (host) => owner.tensor(host),
    dispose: owner.dispose,
  };
}

function backendPlacement(precomputeTransposes: boolean): WeightPlacement {
  const owner = tensorOwner();
  const transposeOf = (t: tf.Tensor2D) => (precomputeTransposes ? owner.keep(tf.transpose(t)) : null);
  return {
    label: precomputeTransposes ? 'backend tensors, with Wᵀ copies' : 'backend tensors',
    need: ({ total, matrices }) => {
      const bytes = total + (precomputeTransposes ? matrices : 0);
      const pool = backendPool(); // a GPU's memory is not checked (memory-budget.ts)
      return { host: pool === 'host' ? bytes : 0, wasmHeap: pool === 'wasm-heap' ? bytes : 0 };
    },
    linear: (weight, bias, layout) => {
      const stored = owner.tensor<tf.Tensor2D>(weight);
      return new BackendLinear(stored, layout, bias ? owner.tensor<tf.Tensor1D>(bias) : null, transposeOf(stored));
    },
    embedding: (host) => {
      const table = owner.tensor<tf.Tensor2D>(host);
      return {
        lookup: (ids) => tf.gather(table, ids),
        tiedHead: () => new BackendLinear(table, 'out-in', null, transposeOf(table)),
      };
    },
    tensor: (host) => owner.tensor(host),
    dispose: owner.dispose,
  };
}

/** The placement of a model loaded now: host memory wherever the addon's kernels run, else the backend's tensors. */
export function choosePlacement(): WeightPlacement {
  const backend = activeBackend();
  return backend.nativeKernels.active ? hostPlacement() : backendPlacement(!backend.fastTransposedMatMul);
}
