import { basename, resolve } from 'node:path';
import { initBackend, parseBackendPreference, parseNativeKernelsMode, type BackendInfo } from '../engine/backend.js';
import type { FrozenModel } from '../engine/models/frozen-model.js';
import { loadFrozenModel } from '../engine/models/load-model.js';
import { loadTokenizer, type TextTokenizer } from '../engine/tokenizer.js';
import { required, type Values } from './cli-options.js';

export interface OpenModel {
  readonly id: string;
  readonly model: FrozenModel;
  readonly tokenizer: TextTokenizer;
  readonly backend: BackendInfo;
}

/** Starts the backend of `--backend` (and `--native-kernels`) and loads `--model`. */
export async function openModel(values: Values): Promise<OpenModel> {
  const dir = resolve(required(values, 'model'));
  const backend = await initBackend(parseBackendPreference(values.backend as string | undefined), {
    nativeKernels: parseNativeKernelsMode((values['native-kernels'] as string | undefined) ?? process.env.LOPT_NATIVE_KERNELS),
  });
  const [model, tokenizer] = await Promise.all([loadFrozenModel(dir), loadTokenizer(dir)]);
  return { id: basename(dir), model, tokenizer, backend };
}
