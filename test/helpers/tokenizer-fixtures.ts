/** The tokenizer folders of test/fixtures/tokenizers (see its README.md) and their reference cases. */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../fixtures/tokenizers');

/** Llama 2's layout (SentencePiece BPE with byte fallback, add_bos_token) and Qwen2's (byte-level BPE, its split regex). */
export const TOKENIZER_FIXTURES = { llama: join(ROOT, 'llama-sp'), qwen2: join(ROOT, 'qwen2-bpe') } as const;

/** A text and its reference ids: without special tokens, as `tokenizer(text)` gives them, and decoded back. */
export interface TokenizerCase {
  readonly text: string;
  readonly ids: number[];
  readonly input_ids?: number[];
  readonly decoded?: string;
}

export function tokenizerCases(fixture: keyof typeof TOKENIZER_FIXTURES): TokenizerCase[] {
  return JSON.parse(readFileSync(join(TOKENIZER_FIXTURES[fixture], 'cases.json'), 'utf8')) as TokenizerCase[];
}
