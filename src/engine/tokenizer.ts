/**
 * Hugging Face tokenizers from a model folder, through @huggingface/tokenizers. A folder with
 * `tokenizer.json` is used as it is; a GPT-2-style folder with only `vocab.json` + `merges.txt`
 * gets the byte-level BPE pipeline that GPT-2's `tokenizer.json` describes.
 */
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { EngineError } from './engine-error.js';

export interface TextTokenizer {
  readonly vocabSize: number;
  /** `<|endoftext|>` or the configured eos token, if the vocabulary has one. */
  readonly eosTokenId: number | undefined;
  encode(text: string): number[];
  decode(ids: readonly number[]): string;
}

const GPT2_EOS = '<|endoftext|>';

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new EngineError('TOKENIZER_INVALID', `${path}: ${(err as Error).message}`, { cause: err });
  }
}

/** merges.txt: an optional `#version` line, then one "left right" pair per line. */
function parseMerges(path: string, text: string): string[] {
  const lines = text.split('\n').filter((line, i) => line.length > 0 && !(i === 0 && line.startsWith('#version')));
  const bad = lines.findIndex((line) => line.split(' ').length !== 2);
  if (bad >= 0) throw new EngineError('TOKENIZER_INVALID', `${path}: merge "${lines[bad]}" is not two symbols`);
  return lines;
}

async function gpt2TokenizerJson(dir: string): Promise<object> {
  const vocabPath = join(dir, 'vocab.json');
  const mergesPath = join(dir, 'merges.txt');
  if (!existsSync(vocabPath) || !existsSync(mergesPath)) {
    throw new EngineError('TOKENIZER_INVALID', `${dir}: needs tokenizer.json, or vocab.json and merges.txt`);
  }
  const vocab = (await readJson(vocabPath)) as Record<string, number>;
  const merges = parseMerges(mergesPath, await readFile(mergesPath, 'utf8'));
  const byteLevel = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };
  const eos = vocab[GPT2_EOS];
  return {
    version: '1.0',
    added_tokens:
      eos === undefined
        ? []
        : [{ id: eos, content: GPT2_EOS, single_word: false, lstrip: false, rstrip: false, normalized: true, special: true }],
    normalizer: null,
    pre_tokenizer: byteLevel,
    post_processor: null,
    decoder: byteLevel,
    model: { type: 'BPE', dropout: null, unk_token: null, fuse_unk: false, byte_fallback: false, vocab, merges },
  };
}

/** Loads the tokenizer stored in a Hugging Face model folder. */
export async function loadTokenizer(dir: string): Promise<TextTokenizer> {
  const tokenizerPath = join(dir, 'tokenizer.json');
  const configPath = join(dir, 'tokenizer_config.json');
  const definition = existsSync(tokenizerPath) ? ((await readJson(tokenizerPath)) as object) : await gpt2TokenizerJson(dir);
  const config = existsSync(configPath) ? ((await readJson(configPath)) as { eos_token?: unknown }) : {};
  let tokenizer: Tokenizer;
  try {
    tokenizer = new Tokenizer(definition, config);
  } catch (err) {
    throw new EngineError('TOKENIZER_INVALID', `${dir}: ${(err as Error).message}`, { cause: err });
  }
  const eosToken = typeof config.eos_token === 'string' ? config.eos_token : GPT2_EOS;
  return {
    vocabSize: tokenizer.get_vocab(true).size,
    eosTokenId: tokenizer.token_to_id(eosToken),
    encode: (text) => tokenizer.encode(text, { add_special_tokens: false }).ids,
    decode: (ids) => (ids.length === 0 ? '' : tokenizer.decode([...ids], { clean_up_tokenization_spaces: false })),
  };
}
