/**
 * Checkpoints as safetensors bytes: parameter, optimizer-moment and best-so-far tensors under
 * prefixed names, counters and metrics in the metadata. Bytes go to a file or a database alike.
 */
import { EngineError } from '../engine-error.js';
import { encodeSafetensors, readSafetensors, type HostTensor } from '../safetensors.js';
import type { TrainingCheckpoint } from './checkpoint.js';

const FORMAT = 'lopt-checkpoint/1';

function prefixed(prefix: string, tensors: Record<string, HostTensor>): Array<[string, HostTensor]> {
  return Object.entries(tensors).map(([name, tensor]) => [`${prefix}.${name}`, tensor]);
}

function withPrefix(prefix: string, tensors: ReadonlyMap<string, HostTensor>): Record<string, HostTensor> {
  return Object.fromEntries([...tensors].filter(([name]) => name.startsWith(`${prefix}.`)).map(([name, t]) => [name.slice(prefix.length + 1), t]));
}

export function encodeCheckpoint(checkpoint: TrainingCheckpoint): Buffer {
  const { params, optimizer, best, ...counters } = checkpoint;
  const tensors = new Map([
    ...prefixed('param', params),
    ...prefixed('adam_m', optimizer.m),
    ...prefixed('adam_v', optimizer.v),
    ...(best ? prefixed('best', best.params) : []),
  ]);
  const state = { ...counters, optimizerStep: optimizer.step, best: best && { step: best.step, metrics: best.metrics } };
  return encodeSafetensors(tensors, { format: FORMAT, state: JSON.stringify(state) });
}

/** A checkpoint from a file path, or from bytes with a name for errors. */
export function decodeCheckpoint(source: string | { bytes: Uint8Array; name: string }): TrainingCheckpoint {
  const { tensors, metadata } = readSafetensors(source);
  const name = typeof source === 'string' ? source : source.name;
  if (metadata.format !== FORMAT || !metadata.state) throw new EngineError('CHECKPOINT_INVALID', `${name}: not a training checkpoint`);
  const { optimizerStep, best, ...counters } = JSON.parse(metadata.state) as Omit<TrainingCheckpoint, 'params' | 'optimizer' | 'best'> & {
    optimizerStep: number;
    best: { step: number; metrics: NonNullable<TrainingCheckpoint['best']>['metrics'] } | null;
  };
  return {
    ...counters,
    params: withPrefix('param', tensors),
    optimizer: { step: optimizerStep, m: withPrefix('adam_m', tensors), v: withPrefix('adam_v', tensors) },
    best: best && { ...best, params: withPrefix('best', tensors) },
  };
}
