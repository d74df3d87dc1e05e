import type { Classification } from '../engine/infer.js';
import type { GpuAdapterInfo } from '../engine/webgpu-device.js';
import type { SamplingOptions } from '../engine/sampling.js';
import type { TaskSpec } from '../engine/tasks/task-spec.js';

/** The backend the inference thread started, the GPU it runs on, if any, and the models it cannot load, with why. */
export interface ReadyBackend {
  readonly name: string;
  readonly adapter?: GpuAdapterInfo;
  readonly unservable: Readonly<Record<string, string>>;
}

/** How the inference thread batches requests and caches prompts. */
export interface InferenceTuning {
  /**
   * While requests are arriving (two within this many ms), a batch waits this long after its
   * first request for more to join it; a request that comes alone never waits. 0: never waits.
   */
  readonly batchWindowMs: number;
  /** Inputs in one batch, at most. */
  readonly maxRows: number;
  /** Bytes of cached prompts: prefix states (keys and values per layer) of decoder-only models, prompt tensors of encoder-decoders. */
  readonly prefixCacheBytes: number;
}

/** A request to the inference thread: inputs for one stored prompt. */
export interface InferenceRequest {
  readonly id: number;
  readonly kind: 'classify' | 'generate';
  readonly modelId: string;
  /** A stable key of the prompt (its id): the thread keeps recent prompts as tensors. */
  readonly promptKey: string;
  readonly prompt: { readonly shape: [number, number]; readonly data: Float32Array };
  readonly task: TaskSpec;
  readonly inputs: ReadonlyArray<Readonly<Record<string, string>>>;
  readonly maxNewTokens?: number;
  /** Generate: how each next token is chosen (greedy when absent). */
  readonly sampling?: SamplingOptions;
  /** Generate: send the text of each input as it grows ('text' messages), not only at the end. */
  readonly stream?: boolean;
}

/** What the API sends the thread: a request, or word that a prompt was deleted (its cached state goes). */
export type ToInferenceThread = InferenceRequest | { readonly kind: 'forget'; readonly promptKey: string };

export type InferenceResult =
  | { readonly kind: 'classify'; readonly predictions: readonly Classification[] }
  | { readonly kind: 'generate'; readonly outputs: readonly string[] };

export type ThreadMessage =
  | { readonly type: 'ready'; readonly backend: ReadyBackend }
  | { readonly type: 'result'; readonly id: number; readonly result: InferenceResult }
  | { readonly type: 'batch'; readonly inputs: number }
  /** What input `index` of a streamed generate request has added to its text since the last message. */
  | { readonly type: 'text'; readonly id: number; readonly index: number; readonly text: string }
  | { readonly type: 'error'; readonly id: number | null; readonly code: string; readonly message: string };
