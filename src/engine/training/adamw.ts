/**
 * Adam with decoupled weight decay (AdamW; plain Adam at weightDecay 0). Written out rather than
 * taken from tf.train so that the learning rate can change every step and the moment estimates
 * can be saved in a checkpoint and restored exactly.
 */
import { EngineError } from '../engine-error.js';
import type { HostTensor } from '../safetensors.js';
import { tf } from '../tf.js';

export interface AdamWOptions {
  /** @defaultValue `0.9` */
  readonly beta1?: number;
  /** @defaultValue `0.999` */
  readonly beta2?: number;
  /** @defaultValue `1e-8` */
  readonly epsilon?: number;
  /** Decoupled decay, applied as p ← p − lr·wd·p. @defaultValue `0` */
  readonly weightDecay?: number;
}

export interface AdamWState {
  readonly step: number;
  readonly m: Record<string, HostTensor>;
  readonly v: Record<string, HostTensor>;
}

export class AdamW {
  private t = 0;
  private readonly m: tf.Tensor[];
  private readonly v: tf.Tensor[];
  private readonly beta1: number;
  private readonly beta2: number;
  private readonly epsilon: number;
  private readonly weightDecay: number;

  /** @param params the variables to update, with the names their state is saved under and the multiple of the step's learning rate each takes (default 1) */
  constructor(
    private readonly params: ReadonlyArray<{ name: string; variable: tf.Variable; learningRateScale?: number }>,
    options: AdamWOptions = {},
  ) {
    this.beta1 = options.beta1 ?? 0.9;
    this.beta2 = options.beta2 ?? 0.999;
    this.epsilon = options.epsilon ?? 1e-8;
    this.weightDecay = options.weightDecay ?? 0;
    this.m = params.map(({ variable }) => tf.zerosLike(variable));
    this.v = params.map(({ variable }) => tf.zerosLike(variable));
  }

  /** One update with gradients in the order of `params`. */
  apply(grads: readonly tf.Tensor[], learningRate: number): void {
    this.t += 1;
    const correction1 = 1 - this.beta1 ** this.t;
    const correction2 = 1 - this.beta2 ** this.t;
    this.params.forEach(({ variable, learningRateScale = 1 }, i) => {
      const [m, v] = tf.tidy(() => {
        const g = grads[i]!;
        const m = tf.add(tf.mul(this.m[i]!, this.beta1), tf.mul(g, 1 - this.beta1));
        const v = tf.add(tf.mul(this.v[i]!, this.beta2), tf.mul(tf.square(g), 1 - this.beta2));
        const adam = tf.div(tf.div(m, correction1), tf.add(tf.sqrt(tf.div(v, correction2)), this.epsilon));
        const decay = this.weightDecay ? tf.mul(variable, this.weightDecay) : tf.zerosLike(variable);
        variable.assign(tf.sub(variable, tf.mul(tf.add(adam, decay), learningRate * learningRateScale)));
        return [m, v];
      });
      this.m[i]!.dispose();
      this.v[i]!.dispose();
      this.m[i] = m;
      this.v[i] = v;
    });
  }

  async state(): Promise<AdamWState> {
    const host = async (tensors: tf.Tensor[]) => {
      const values = await Promise.all(tensors.map((t) => t.data()));
      return Object.fromEntries(this.params.map(({ name }, i) => [name, { shape: tensors[i]!.shape, data: values[i] as Float32Array }]));
    };
    return { step: this.t, m: await host(this.m), v: await host(this.v) };
  }

  restore(state: AdamWState): void {
    this.params.forEach(({ name, variable }, i) => {
      for (const [moments, saved] of [[this.m, state.m], [this.v, state.v]] as const) {
        const value = saved[name];
        if (!value || value.shape.join() !== variable.shape.join()) throw new EngineError('CHECKPOINT_INVALID', `optimizer state has no moment of shape [${variable.shape.join(', ')}] for ${name}`);
        moments[i]!.dispose();
        moments[i] = tf.tensor(value.data, variable.shape);
      }
    });
    this.t = state.step;
  }

  dispose(): void {
    tf.dispose([...this.m, ...this.v]);
  }
}
