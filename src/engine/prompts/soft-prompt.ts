/**
 * A soft prompt: its trainable parameters (TF.js variables, uniquely named per instance), the
 * fixed X0 of lopt2, and the materialised X that goes in front of the input.
 */
import { gelu } from '../activations.js';
import { EngineError } from '../engine-error.js';
import type { FrozenModel } from '../models/frozen-model.js';
import type { HostTensor } from '../safetensors.js';
import { tf } from '../tf.js';
import { initialRows, lopt2Factors, truncatedSvdFactors } from './prompt-init.js';
import { checkStoredTensors, storedTensorShapes, trainableParameterCount, type Activation, type ResolvedPromptSpec } from './prompt-spec.js';

const SIGMA: Record<Activation, (x: tf.Tensor2D) => tf.Tensor2D> = {
  tanh: (x) => tf.tanh(x),
  relu: (x) => tf.relu(x),
  sigmoid: (x) => tf.sigmoid(x),
  gelu,
};

let instances = 0;

export class SoftPrompt {
  private readonly params: ReadonlyMap<string, tf.Variable<tf.Rank.R2>>;

  private constructor(
    readonly spec: ResolvedPromptSpec,
    readonly width: number,
    params: Record<string, tf.Tensor2D>,
    /** lopt2's fixed X0 [n, d]; owned by this prompt. */
    private readonly x0: tf.Tensor2D | undefined,
  ) {
    const id = `soft-prompt-${++instances}`;
    this.params = new Map(Object.entries(params).map(([name, value]) => [name, tf.variable(value, true, `${id}/${name}`)]));
  }

  /** A new prompt for `model`, initialised per its spec (seeded). */
  static async initialise(spec: ResolvedPromptSpec, model: FrozenModel, encode: (text: string) => number[]): Promise<SoftPrompt> {
    const d = model.dims.hiddenSize;
    const rows = initialRows(spec, model, encode);
    try {
      switch (spec.method) {
        case 'pt':
          return new SoftPrompt(spec, d, { X: rows }, undefined);
        case 'lopt1':
          return SoftPrompt.adopt(spec, d, await truncatedSvdFactors(rows, spec.r), undefined);
        case 'lopt2':
          return SoftPrompt.adopt(spec, d, await lopt2Factors(rows, spec.r, spec.seed), tf.clone(rows));
      }
    } finally {
      rows.dispose();
    }
  }

  /** A prompt from stored tensors (a prompt file or a checkpoint): its parameters, and X0 for lopt2. */
  static fromHostTensors(spec: ResolvedPromptSpec, d: number, tensors: ReadonlyMap<string, HostTensor>): SoftPrompt {
    checkStoredTensors(spec, d, tensors, { materialised: false });
    const loaded: Record<string, tf.Tensor2D> = {};
    for (const name of Object.keys(storedTensorShapes(spec, d, { materialised: false }))) {
      const { shape, data } = tensors.get(name)!;
      loaded[name] = tf.tensor2d(data, shape as [number, number]);
    }
    const { X0, ...params } = loaded;
    return SoftPrompt.adopt(spec, d, params, X0);
  }

  /** Takes ownership of the given tensors (they become variables and are disposed here). */
  private static adopt(spec: ResolvedPromptSpec, d: number, params: Record<string, tf.Tensor2D>, x0: tf.Tensor2D | undefined) {
    try {
      return new SoftPrompt(spec, d, params, x0);
    } finally {
      tf.dispose(Object.values(params));
    }
  }

  get trainableParameters(): number {
    return trainableParameterCount(this.spec, this.width);
  }

  /** The trainable variables, with the parameter names their values are saved under. */
  get variables(): Array<{ name: string; variable: tf.Variable<tf.Rank.R2> }> {
    return [...this.params].map(([name, variable]) => ({ name, variable }));
  }

  /** X [n, d]: X, U·V or σ(X0·U)·V. Differentiable with respect to the variables. */
  materialize(): tf.Tensor2D {
    return tf.tidy(() => {
      const p = (name: string) => this.params.get(name)!;
      switch (this.spec.method) {
        case 'pt':
          return tf.clone(p('X'));
        case 'lopt1':
          return tf.matMul(p('U'), p('V'));
        case 'lopt2':
          return tf.matMul(SIGMA[this.spec.activation](tf.matMul(this.x0!, p('U'))), p('V'));
      }
    });
  }

  /** Host copies of the parameters (and X0 for lopt2), by name. Asynchronous: WebGPU cannot read synchronously. */
  async parameterValues(): Promise<Map<string, HostTensor>> {
    const tensors: Array<[string, tf.Tensor2D]> = [...this.params, ...(this.x0 ? [['X0', this.x0] as [string, tf.Tensor2D]] : [])];
    const values = await Promise.all(tensors.map(([, tensor]) => tensor.data()));
    return new Map(tensors.map(([name, tensor], i) => [name, { shape: tensor.shape, data: values[i] as Float32Array }]));
  }

  /** Overwrites the trainable parameters with stored values of the same shapes. */
  assign(values: ReadonlyMap<string, HostTensor>): void {
    for (const [name, variable] of this.params) {
      const value = values.get(name);
      if (!value || value.shape.join() !== variable.shape.join()) throw new EngineError('CHECKPOINT_INVALID', `no value of shape [${variable.shape.join(', ')}] for ${name}`);
      tf.tidy(() => variable.assign(tf.tensor2d(value.data, variable.shape)));
    }
  }

  dispose(): void {
    tf.dispose([...this.params.values()]);
    this.x0?.dispose();
  }
}
