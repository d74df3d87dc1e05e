import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** `../shared` beside the checkout: models, datasets and reference fixtures (read-only). */
export const SHARED_DIR = resolve(process.env.LOPT_SHARED_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '../../../shared'));
export const MODELS_DIR = join(SHARED_DIR, 'models');
export const FIXTURES_DIR = join(SHARED_DIR, 'fixtures');
export const DATASETS_DIR = join(SHARED_DIR, 'datasets');

export function readJsonFixture<T>(name: string): T {
  return JSON.parse(readFileSync(join(FIXTURES_DIR, name), 'utf8')) as T;
}

export interface Gpt2MiniFixture {
  input_ids: number[][];
  lengths: number[];
  pad_id: number;
  n: number;
  label_ids: number[];
  labels: number[];
  methods: Record<"pt" | "lopt1" | "lopt2", { r: number | null; loss: number; label_logits: number[][]; trainable: number }>;
}

export function gpt2MiniFixture(): Gpt2MiniFixture {
  return readJsonFixture<{ 'gpt2-mini': Gpt2MiniFixture }>('fixtures.json')['gpt2-mini'];
}
